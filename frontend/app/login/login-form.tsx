"use client";

import { useState, type FormEvent } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { ApiError, api, errorMessage } from "@/lib/api/client";
import type { SessionToken } from "@/lib/api/types";
import { Alert, TextField } from "@/components/ui";

function safeNext(value: string | null): string {
  // Only paths of this console: never an absolute or protocol-relative URL.
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\") || value.startsWith("/login")) return "/";
  return value;
}

function loginError(err: unknown): { title: string; text: string } {
  if (err instanceof ApiError) {
    if (err.status === 401) return { title: "Wrong username or password", text: "Check both and try again." };
    if (err.status === 429) {
      const wait = err.retryAfterS ? ` Try again in ${err.retryAfterS} s.` : "";
      return { title: "Too many failed sign-in attempts", text: `Sign-in is paused for this account and address.${wait}` };
    }
    if (err.status === 400) return { title: "Cannot sign in", text: err.message };
  }
  return { title: "Cannot sign in", text: errorMessage(err) };
}

export function LoginForm() {
  const router = useRouter();
  const params = useSearchParams();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ title: string; text: string } | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.post<SessionToken>("/auth/login", { username, password }, { quiet401: true });
      router.replace(safeNext(params.get("next")));
    } catch (err) {
      setError(loginError(err));
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate>
      {error ? (
        <Alert tone="error" title={error.title}>
          {error.text}
        </Alert>
      ) : null}
      <TextField label="Username" name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
      <TextField label="Password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
      <button type="submit" className="btn btn-primary" disabled={busy || !username || !password}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
