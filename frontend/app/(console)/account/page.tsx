"use client";

import { useState, type FormEvent } from "react";
import { api } from "@/lib/api/client";
import type { SessionToken } from "@/lib/api/types";
import { useSession } from "@/lib/session";
import { Alert, Card, KeyValue, NO_ERRORS, PageHeader, TextField, formErrorsFrom, type FormErrors } from "@/components/ui";
import { paramIn } from "@/lib/forms";
import { formatDateTime } from "@/lib/format";

export default function AccountPage() {
  const { me, refresh } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    if (next !== confirm) {
      setErrors({ fields: { confirm: "The two new passwords differ." }, form: null });
      return;
    }
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await api.post<SessionToken>("/auth/password", { current_password: current, new_password: next });
      setCurrent("");
      setNext("");
      setConfirm("");
      setDone(true);
      await refresh();
    } catch (err) {
      setErrors(formErrorsFrom(err, paramIn(["current_password", "new_password"])));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageHeader title="Account" description="Your sign-in and password." />
      <div className="stack" style={{ maxWidth: 720 }}>
        <Card title="Signed in">
          <KeyValue
            items={[
              ["Username", me.username],
              ["Role", me.role === "admin" ? "admin (can change everything)" : "viewer (read-only)"],
              ["Session ends", formatDateTime(me.session_expires_at)],
            ]}
          />
        </Card>
        <Card title="Change password" description="At least 12 characters, not a known default. Your other sessions end; this one continues.">
          <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label="Change password">
            {me.default_password && !done ? <Alert tone="warning" title="Default password in use">Choose a password of your own now.</Alert> : null}
            {errors.form ? <Alert tone="error" title="Password not changed">{errors.form}</Alert> : null}
            {done ? <Alert tone="success">Password changed.</Alert> : null}
            <TextField label="Current password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} error={errors.fields.current_password} required />
            <TextField label="New password" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} error={errors.fields.new_password} minLength={12} required />
            <TextField label="Repeat new password" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} error={errors.fields.confirm} required />
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={busy || !current || !next || !confirm}>
                {busy ? "Changing…" : "Change password"}
              </button>
            </div>
          </form>
        </Card>
      </div>
    </>
  );
}
