"use client";

import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { useRouter } from "next/navigation";
import { api, onUnauthenticated, type ApiError } from "./api/client";
import type { Me } from "./api/types";

interface SessionValue {
  me: Me;
  canWrite: boolean;
  refresh: () => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error("useSession outside of <SessionProvider>");
  return value;
}

/** Whether the signed-in user may change things (admins); viewers get read-only pages. */
export function useCanWrite(): boolean {
  return useSession().canWrite;
}

const REFRESH_EVERY_MS = 10 * 60 * 1000;

type State = { kind: "loading" } | { kind: "error"; error: ApiError | Error } | { kind: "ready"; me: Me };

export function SessionProvider({ children, fallback, failure }: {
  children: ReactNode;
  fallback: ReactNode;
  failure: (error: Error, retry: () => void) => ReactNode;
}) {
  const router = useRouter();
  const [state, setState] = useState<State>({ kind: "loading" });

  const toLogin = useCallback(() => {
    const next = typeof window === "undefined" ? "/" : window.location.pathname + window.location.search;
    router.replace(`/login?next=${encodeURIComponent(next)}`);
  }, [router]);

  // A 401 can also be a call that raced the token rotation of /auth/refresh: ask once more with
  // the current cookie before sending the user to the sign-in page.
  const checking = useRef(false);
  const onSessionLost = useCallback(() => {
    if (checking.current) return;
    checking.current = true;
    api
      .get<Me>("/auth/me", undefined, undefined, { quiet401: true })
      .then(
        () => undefined,
        (err: ApiError) => {
          if (err.status === 401) toLogin();
        },
      )
      .finally(() => {
        checking.current = false;
      });
  }, [toLogin]);

  const refresh = useCallback(async () => {
    try {
      const me = await api.get<Me>("/auth/me", undefined, undefined, { quiet401: true });
      setState({ kind: "ready", me });
    } catch (err) {
      const error = err as ApiError;
      if (error.status === 401) toLogin();
      else setState({ kind: "error", error });
    }
  }, [toLogin]);

  useEffect(() => onUnauthenticated(onSessionLost), [onSessionLost]);
  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Keep an open console signed in: the admin API re-issues the cookie on refresh.
  useEffect(() => {
    const timer = setInterval(() => {
      void api.post("/auth/refresh").catch(() => undefined);
    }, REFRESH_EVERY_MS);
    return () => clearInterval(timer);
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.post("/auth/logout", undefined, { quiet401: true });
    } catch {
      // The cookie is cleared or expired either way.
    }
    router.replace("/login");
  }, [router]);

  if (state.kind === "loading") return <>{fallback}</>;
  if (state.kind === "error") return <>{failure(state.error, () => void refresh())}</>;
  const value: SessionValue = { me: state.me, canWrite: state.me.role === "admin", refresh, logout };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
