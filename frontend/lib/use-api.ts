"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, type Query } from "./api/client";

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * GET `path` (null: nothing to load yet) and keep the answer; with `pollMs`, refresh on that
 * period while the page is visible. A failed refresh keeps the last good data and sets `error`.
 */
export function useApi<T>(
  path: string | null,
  query?: Query | (() => Query),
  opts: { pollMs?: number; key?: string } = {},
): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [loading, setLoading] = useState<boolean>(path !== null);
  const [nonce, setNonce] = useState(0);
  // A query function is evaluated on every load (e.g. "the last hour" moves); `opts.key` then
  // names what it depends on.
  const key = path === null ? null : `${path}?${typeof query === "function" ? opts.key ?? "" : JSON.stringify(query ?? {})}`;
  const queryRef = useRef(query);
  queryRef.current = query;
  const lastKey = useRef<string | null>(null);

  useEffect(() => {
    if (key === null || path === null) {
      setLoading(false);
      return;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (lastKey.current !== key) {
      setData(undefined);
      lastKey.current = key;
    }
    const load = async (first: boolean) => {
      if (first) setLoading(true);
      try {
        const current = queryRef.current;
        const answer = await api.get<T>(path, typeof current === "function" ? current() : current, controller.signal);
        setData(answer);
        setError(undefined);
      } catch (err) {
        if (err instanceof DOMException && err.name === "AbortError") return;
        setError(err instanceof Error ? err : new Error(String(err)));
      } finally {
        if (!controller.signal.aborted) {
          setLoading(false);
          if (opts.pollMs) timer = setTimeout(() => void load(false), opts.pollMs);
        }
      }
    };
    void load(true);
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [key, path, nonce, opts.pollMs]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}
