"use client";

import { useState } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useBreakers } from "@/lib/breakers";
import { useCanWrite } from "@/lib/session";
import type { Breaker, BreakerReset } from "@/lib/api/types";
import { Alert, BreakerPill, EmptyState, ErrorState, LoadingState } from "./ui";
import { relativeSeconds } from "@/lib/format";

export function openFor(breaker: Breaker | undefined): string | null {
  if (!breaker || breaker.open_until === null || breaker.open_until === undefined) return null;
  const left = breaker.open_until - Date.now() / 1000;
  return left > 0 ? relativeSeconds(left) : null;
}

export function ResetBreakerButton({ provider, onDone }: { provider: string; onDone?: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const reset = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.post<BreakerReset>(`/breakers/${encodeURIComponent(provider)}/reset`);
      onDone?.();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="inline">
      <button type="button" className="btn btn-small" disabled={busy} onClick={() => void reset()} aria-label={`Reset breaker of ${provider}`}>
        {busy ? "Resetting…" : "Reset"}
      </button>
      {error ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </span>
  );
}

export function GatewayUnreachable({ error }: { error: string | null }) {
  return (
    <Alert tone="warning" title="The gateway did not answer">
      Live breaker states are unknown right now{error ? `: ${error}` : "."}
    </Alert>
  );
}

/** Every provider with its live breaker state; admins may reset a breaker. */
export function BreakerTable() {
  const canWrite = useCanWrite();
  const breakers = useBreakers();
  if (breakers.list === undefined) {
    if (breakers.error) return <ErrorState error={breakers.error} title="Breaker state unavailable" onRetry={breakers.reload} />;
    return <LoadingState label="Loading breaker state…" />;
  }
  if (breakers.list.length === 0) return <EmptyState title="No providers yet">Add a provider to see its circuit breaker here.</EmptyState>;
  return (
    <div className="stack" style={{ gap: 12 }}>
      {breakers.error ? (
        <Alert tone="warning" title="Live refresh failed; showing the last state">
          {errorMessage(breakers.error)}
        </Alert>
      ) : null}
      {!breakers.reachable ? <GatewayUnreachable error={breakers.gatewayError} /> : null}
      <div className="table-wrap" style={{ margin: "0 -20px -20px" }}>
        <table className="table" aria-label="Circuit breakers">
          <thead>
            <tr>
              <th>Provider</th>
              <th>Breaker</th>
              <th className="num">Calls in window</th>
              <th className="num">Failures</th>
              <th className="num">Consecutive failures</th>
              <th>Half-opens in</th>
              {canWrite ? <th className="actions">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {breakers.list.map((b) => (
              <tr key={b.provider} data-provider={b.provider}>
                <td className="strong">
                  {b.provider}
                  {!b.enabled ? <span className="muted"> ({b.configured ? "disabled" : "removed"})</span> : null}
                  {(b.targets ?? []).length > 1 || (b.targets ?? []).some((t) => t.model !== "*") ? (
                    <ul className="muted" aria-label={`Targets of ${b.provider}`} style={{ margin: "4px 0 0", paddingLeft: 16, fontWeight: "normal" }}>
                      {(b.targets ?? []).map((t) => (
                        <li key={t.model} data-target={t.model}>
                          <span className="mono">{t.model}</span> <BreakerPill state={t.state} />
                        </li>
                      ))}
                    </ul>
                  ) : null}
                </td>
                <td>
                  <BreakerPill state={b.state} />
                </td>
                <td className="num">{b.calls}</td>
                <td className="num">{b.failures}</td>
                <td className="num">{b.consecutive_failures}</td>
                <td>{openFor(b) ?? <span className="muted">—</span>}</td>
                {canWrite ? (
                  <td className="actions">{b.state === "open" || b.state === "half_open" ? <ResetBreakerButton provider={b.provider} onDone={breakers.reload} /> : null}</td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
