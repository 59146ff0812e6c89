"use client";

import { useMemo } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { useApi } from "@/lib/use-api";
import type { Page, Stats, StatsPoint, Tenant } from "@/lib/api/types";
import { Card, ErrorState, LoadingState, PageHeader } from "@/components/ui";
import { LineChart, PALETTE, type Series } from "@/components/line-chart";
import { BreakerTable } from "@/components/breakers";
import { formatMs, formatNumber, formatPercent } from "@/lib/format";
import { RANGES, rangeOf, type RangeKey } from "@/lib/ranges";

function seriesOf(buckets: StatsPoint[], pick: (b: StatsPoint) => number | null): { t: number; v: number | null }[] {
  return buckets.map((b) => ({ t: new Date(b.start).getTime(), v: pick(b) }));
}

function sum(buckets: StatsPoint[], pick: (b: StatsPoint) => number): number {
  return buckets.reduce((acc, b) => acc + pick(b), 0);
}

function maxOf(buckets: StatsPoint[], pick: (b: StatsPoint) => number | null): number | null {
  const values = buckets.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
  return values.length ? Math.max(...values) : null;
}

export default function OverviewPage() {
  const router = useRouter();
  const params = useSearchParams();
  const rangeKey = (RANGES.some((r) => r.key === params.get("range")) ? params.get("range") : "1h") as RangeKey;
  const range = RANGES.find((r) => r.key === rangeKey) ?? RANGES[1]!;
  const tenantId = params.get("tenant") ?? "";
  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  // The window ("the last hour") is recomputed on every poll.
  const stats = useApi<Stats>("/stats", () => ({ ...rangeOf(rangeKey).query, tenant_id: tenantId || undefined }), {
    pollMs: range.pollMs,
    key: `${rangeKey}/${tenantId}`,
  });
  const fallbackWindow = useMemo(() => rangeOf(rangeKey), [rangeKey]);

  const setParam = (name: string, value: string) => {
    const next = new URLSearchParams(params.toString());
    if (value) next.set(name, value);
    else next.delete(name);
    router.replace(`/?${next.toString()}`);
  };
  const setRange = (key: RangeKey) => setParam("range", key);

  const from = stats.data ? new Date(stats.data.from).getTime() : fallbackWindow.fromMs;
  const to = stats.data ? new Date(stats.data.to).getTime() : fallbackWindow.toMs;
  const stepS = stats.data?.step_s ?? range.stepS;
  const providers = stats.data ? Object.keys(stats.data.providers).sort() : [];
  const colorOf = (name: string) => PALETTE[providers.indexOf(name) % PALETTE.length] ?? "#495057";
  const perProvider = (pick: (b: StatsPoint) => number | null, dashed = false, suffix = ""): Series[] =>
    providers.map((name) => ({
      name: `${name}${suffix}`,
      color: colorOf(name),
      dashed,
      points: seriesOf(stats.data?.providers[name] ?? [], pick),
    }));

  const total = stats.data?.total ?? [];
  const requests = sum(total, (b) => b.requests);
  const errors = sum(total, (b) => b.errors);
  const fallbacks = sum(total, (b) => b.fallbacks);
  const perMinute = (b: StatsPoint) => (b.requests * 60) / stepS;

  return (
    <>
      <PageHeader
        title="Overview"
        description="Traffic, errors, latency and fallbacks per provider, and the live state of every circuit breaker."
        actions={
          <>
            <label className="inline">
              <span className="sr-only">Tenant</span>
              <select className="input" style={{ width: 180 }} value={tenantId} onChange={(e) => setParam("tenant", e.target.value)}>
                <option value="">All tenants</option>
                {(tenants.data?.data ?? []).map((t) => (
                  <option key={t.id} value={String(t.id)}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
            <div className="segmented" role="group" aria-label="Time range">
              {RANGES.map((r) => (
                <button key={r.key} type="button" aria-pressed={r.key === rangeKey} onClick={() => setRange(r.key)}>
                  {r.label}
                </button>
              ))}
            </div>
          </>
        }
      />
      <div className="stack">
        <div className="grid-4">
          <Card>
            <div className="stat">
              <span className="stat-label">Requests</span>
              <span className="stat-value">{stats.data ? formatNumber(requests) : "—"}</span>
              <span className="stat-sub">in the last {range.long}</span>
            </div>
          </Card>
          <Card>
            <div className="stat">
              <span className="stat-label">Error rate</span>
              <span className="stat-value">{stats.data ? formatPercent(requests ? errors / requests : 0) : "—"}</span>
              <span className="stat-sub">{stats.data ? `${formatNumber(errors)} failed requests` : "\u00a0"}</span>
            </div>
          </Card>
          <Card>
            <div className="stat">
              <span className="stat-label">Worst p95 latency</span>
              <span className="stat-value">{stats.data ? formatMs(maxOf(total, (b) => b.p95_latency_ms)) : "—"}</span>
              <span className="stat-sub">highest bucket in range</span>
            </div>
          </Card>
          <Card>
            <div className="stat">
              <span className="stat-label">Fallbacks</span>
              <span className="stat-value">{stats.data ? formatNumber(fallbacks) : "—"}</span>
              <span className="stat-sub">requests served by a non-primary target</span>
            </div>
          </Card>
        </div>

        <Card title="Circuit breakers" description="Live from the gateway, refreshed every 3 seconds.">
          <BreakerTable />
        </Card>

        {stats.data === undefined ? (
          <Card>{stats.error ? <ErrorState error={stats.error} onRetry={stats.reload} /> : <LoadingState label="Loading statistics…" />}</Card>
        ) : (
          <div className="grid-2">
            <Card title="Request rate" description="Requests per minute, per provider">
              <LineChart
                title="Request rate per provider"
                from={from}
                to={to}
                format={(v) => (v >= 10 || Number.isInteger(v) ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2))}
                series={[{ name: "all", color: "#344054", dashed: true, points: seriesOf(total, perMinute) }, ...perProvider(perMinute)]}
              />
            </Card>
            <Card title="Error rate" description="Share of requests answered with a 5xx: overall, and per provider that answered">
              <LineChart
                title="Error rate per provider"
                from={from}
                to={to}
                format={(v) => formatPercent(v)}
                series={[{ name: "all", color: "#344054", dashed: true, points: seriesOf(total, (b) => (b.requests ? b.error_rate : null)) }, ...perProvider((b) => (b.requests ? b.error_rate : null))]}
              />
            </Card>
            <Card title="Latency" description="p95 (solid) and p50 (dashed), per provider">
              <LineChart
                title="Latency per provider"
                from={from}
                to={to}
                format={(v) => formatMs(v)}
                series={[...perProvider((b) => b.p95_latency_ms, false, " p95"), ...perProvider((b) => b.p50_latency_ms, true, " p50")]}
              />
            </Card>
            <Card title="Time to first token" description="p50 of streamed requests, per provider">
              <LineChart title="Time to first token per provider" from={from} to={to} format={(v) => formatMs(v)} series={perProvider((b) => b.p50_ttft_ms)} emptyText="No streamed requests in this range." />
            </Card>
            <Card title="Fallbacks" description="Requests a provider served after an earlier target failed">
              <LineChart title="Fallbacks per provider" from={from} to={to} format={(v) => v.toFixed(0)} integer series={perProvider((b) => b.fallbacks)} emptyText="No fallbacks in this range." />
            </Card>
            <Card title="Tokens" description="Prompt and completion tokens, per provider">
              <LineChart title="Tokens per provider" from={from} to={to} format={(v) => formatNumber(Math.round(v))} integer series={perProvider((b) => b.total_tokens)} />
            </Card>
          </div>
        )}
        {stats.data && stats.error ? <ErrorState error={stats.error} title="The last refresh failed" onRetry={stats.reload} /> : null}
        {stats.data?.truncated ? (
          <p className="muted">This range holds more requests than one chart reads; buckets before {new Date(stats.data.complete_from).toLocaleString()} are partial.</p>
        ) : null}
      </div>
    </>
  );
}
