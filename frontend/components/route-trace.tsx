import type { Attempt } from "@/lib/api/types";
import { BreakerPill, EmptyState, Pill, type Tone } from "./ui";
import { formatMs } from "@/lib/format";
import { formatUsd } from "@/lib/money";

const OUTCOMES: Record<string, { label: string; tone: Tone }> = {
  success: { label: "success", tone: "green" },
  failure: { label: "failed", tone: "red" },
  client_error: { label: "client error", tone: "amber" },
  skipped_open: { label: "skipped: breaker open", tone: "gray" },
  cancelled: { label: "cancelled", tone: "gray" },
  interrupted: { label: "interrupted mid-stream", tone: "red" },
  rescued: { label: "rescued: continued the answer", tone: "green" },
  skipped_no_prefill: { label: "skipped: cannot continue", tone: "gray" },
  skipped_context_window: { label: "skipped: context window too small", tone: "gray" },
};

/** A stream's pieces: the attempt that was cut and each continuation, numbered in order. */
function pieceNumbers(attempts: Attempt[]): (number | null)[] {
  if (!attempts.some((a) => a.outcome === "rescued")) return attempts.map(() => null);
  let piece = 0;
  return attempts.map((a) => (a.outcome === "interrupted" || a.outcome === "rescued" ? ++piece : null));
}

/** The attempts of one request as a small timeline: bars placed by when they ran, sized by how long. */
export function RouteTrace({ attempts, totalMs }: { attempts: Attempt[]; totalMs: number }) {
  if (attempts.length === 0) return <EmptyState title="No attempts recorded">The request ended before any provider was tried (e.g. no rule matched or a limit refused it).</EmptyState>;
  // Attempts run one after another; a hedged attempt runs alongside the one before it.
  let clock = 0;
  let lastStart = 0;
  const placed = attempts.map((a) => {
    const start = a.hedged ? lastStart : clock;
    lastStart = start;
    clock = Math.max(clock, start + a.latency_ms);
    return { a, start };
  });
  const span = Math.max(totalMs, clock, 1);
  const pieces = pieceNumbers(attempts);
  return (
    <div className="trace" role="list" aria-label="Attempts">
      {placed.map(({ a, start }, i) => {
        const outcome = OUTCOMES[a.outcome] ?? { label: a.outcome, tone: "gray" as Tone };
        const left = (start / span) * 100;
        const width = Math.max((a.latency_ms / span) * 100, 0.8);
        return (
          <div key={i} className="trace-row" role="listitem" aria-label={`Attempt ${i + 1}: ${a.provider} ${outcome.label}`}>
            <span className="trace-index">{i + 1}</span>
            <div className="trace-meta">
              <span className="strong" title={a.provider}>
                {a.provider}
              </span>
              <span className="trace-details">
                <Pill tone={outcome.tone}>{outcome.label}</Pill>
                {a.status ? <span>HTTP {a.status}</span> : null}
              </span>
            </div>
            <div>
              <div className="trace-track">
                <div className={`trace-bar ${a.outcome}`} style={{ left: `${Math.min(left, 99)}%`, width: `${Math.min(width, 100 - Math.min(left, 99))}%` }}>
                  {width > 14 ? formatMs(a.latency_ms) : null}
                </div>
              </div>
              <div className="trace-details" style={{ marginTop: 4 }}>
                <span className="mono">{a.model}</span>
                <span>·</span>
                <span>{formatMs(a.latency_ms)}</span>
                <span>·</span>
                <span className="inline">
                  breaker <BreakerPill state={a.breaker_state} />
                </span>
                {a.error_type ? (
                  <>
                    <span>·</span>
                    <span>{a.error_type}</span>
                  </>
                ) : null}
                {a.hedged ? <Pill tone="violet">hedged</Pill> : null}
                {a.reason ? (
                  <>
                    <span>·</span>
                    <span title="why routing chose this target">{a.reason}</span>
                  </>
                ) : null}
                {pieces[i] !== null ? <Pill tone="violet">{`piece ${pieces[i]}`}</Pill> : null}
                {a.cost_usd !== undefined ? (
                  <>
                    <span>·</span>
                    <span title={a.cost_estimated ? "estimated from what it relayed" : "from the upstream's usage"}>{formatUsd(a.cost_usd, { estimated: a.cost_estimated })}</span>
                  </>
                ) : null}
              </div>
            </div>
          </div>
        );
      })}
      <div className="trace-scale" aria-hidden="true">
        <span>0 ms</span>
        <span>{formatMs(span / 2)}</span>
        <span>{formatMs(span)}</span>
      </div>
    </div>
  );
}
