"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { useApi } from "@/lib/use-api";
import type { Page, Stats, StatsPoint, Tenant } from "@/lib/api/types";
import { Alert, Card, ErrorState, LoadingState, PageHeader } from "@/components/ui";
import { LineChart, PALETTE, type Series } from "@/components/line-chart";
import { BreakerTable } from "@/components/breakers";
import { OutcomeSummary, TenantOutcomeTable } from "@/components/outcome-summary";
import { RangePicker } from "@/components/range-picker";
import { formatMs, formatNumber, formatPercent } from "@/lib/format";
import { chooseRange } from "@/lib/ranges";

const NO_PROVIDER = "no provider";
const NO_PROVIDER_COLOR = "#8a94a6";

function seriesOf(buckets: StatsPoint[], pick: (b: StatsPoint) => number | null): { t: number; v: number | null }[] {
  return buckets.map((b) => ({ t: new Date(b.start).getTime(), v: pick(b) }));
}

function maxOf(buckets: StatsPoint[], pick: (b: StatsPoint) => number | null): number | null {
  const values = buckets.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
  return values.length ? Math.max(...values) : null;
}

export default function OverviewPage() {
  const router = useRouter();
  const params = useSearchParams();
  const range = chooseRange(new URLSearchParams(params.toString()), "1h");
  const tenantId = params.get("tenant") ?? "";
  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  // A preset window ("the last hour") is recomputed on every poll; a custom one stays put.
  const stats = useApi<Stats>("/stats", () => ({ ...chooseRange(new URLSearchParams(params.toString()), "1h").query, tenant_id: tenantId || undefined }), {
    pollMs: range.pollMs,
    key: `${range.key}/${range.key === "custom" ? `${range.fromMs}-${range.toMs}` : ""}/${tenantId}`,
  });

  const navigate = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params.toString());
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    router.replace(`/?${next.toString()}`);
  };
  const setParam = (name: string, value: string) => navigate({ [name]: value });

  const from = stats.data ? new Date(stats.data.from).getTime() : range.fromMs;
  const to = stats.data ? new Date(stats.data.to).getTime() : range.toMs;
  const stepS = stats.data?.step_s ?? 60;
  const providers = stats.data ? Object.keys(stats.data.providers).sort() : [];
  const colorOf = (name: string) => PALETTE[providers.indexOf(name) % PALETTE.length] ?? "#495057";
  const noProvider = stats.data?.no_provider ?? [];
  const hasNoProvider = noProvider.some((b) => b.requests > 0);
  const perProvider = (pick: (b: StatsPoint) => number | null, dashed = false, suffix = "", withNoProvider = false): Series[] => [
    ...providers.map((name) => ({
      name: `${name}${suffix}`,
      color: colorOf(name),
      dashed,
      points: seriesOf(stats.data?.providers[name] ?? [], pick),
    })),
    ...(withNoProvider && hasNoProvider ? [{ name: NO_PROVIDER, color: NO_PROVIDER_COLOR, dashed: true, points: seriesOf(noProvider, pick) }] : []),
  ];

  const total = stats.data?.total ?? [];
  const outcomes = stats.data?.outcomes;
  const requests = outcomes?.requests ?? 0;
  const failed = outcomes?.failed ?? 0;
  const interrupted = outcomes?.interrupted ?? 0;
  const fallbacks = outcomes?.fallback ?? 0;
  const perMinute = (b: StatsPoint) => (b.requests * 60) / stepS;
  const rateOf = (b: StatsPoint) => (b.requests ? b.error_rate : null);
  const tenantName = (id: number | null) => (id === null ? "No tenant (no valid key)" : tenants.data?.data.find((t) => t.id === id)?.name ?? `Tenant #${id}`);
  const rangeText = range.key === "custom" ? "in the chosen range" : `in the ${range.label}`;

  return (
    <>
      <PageHeader
        title="Overview"
        description="Traffic, errors, latency and fallbacks per provider, and the live state of every circuit breaker."
        actions={
          <>
            <label className="inline">
              <span className="sr-only">Tenant</span>
              <select className="input tenant-select" value={tenantId} onChange={(e) => setParam("tenant", e.target.value)}>
                <option value="">All tenants</option>
                {(tenants.data?.data ?? []).map((t) => (
                  <option key={t.id} value={String(t.id)}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
            <RangePicker range={range} onChange={(changes) => navigate({ range: changes.range, from: changes.from, to: changes.to })} />
          </>
        }
      />
      <div className="stack">
        {range.error ? <Alert tone="warning" title="Custom range not shown">{range.error} Showing the last hour instead.</Alert> : null}
        <div className="grid-4">
          <Card>
            <div className="stat">
              <span className="stat-label">Requests</span>
              <span className="stat-value" data-testid="tile-requests">{stats.data ? formatNumber(requests) : "—"}</span>
              <span className="stat-sub">{rangeText}</span>
            </div>
          </Card>
          <Card>
            <div className="stat">
              <span className="stat-label">Error rate</span>
              <span className="stat-value" data-testid="tile-error-rate">{stats.data ? formatPercent(requests ? (failed + interrupted) / requests : 0) : "—"}</span>
              <span className="stat-sub" data-testid="tile-error-detail">
                {stats.data ? `${formatNumber(failed)} failed (5xx), ${formatNumber(interrupted)} interrupted stream${interrupted === 1 ? "" : "s"}` : "\u00a0"}
              </span>
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
              <span className="stat-value" data-testid="tile-fallbacks">{stats.data ? formatNumber(fallbacks) : "—"}</span>
              <span className="stat-sub">requests served by a non-primary target</span>
            </div>
          </Card>
        </div>

        {stats.data ? (
          <Card title="Outcomes" description="Every request in the range by what became of it; 4xx and 429 are answers the gateway refused.">
            <OutcomeSummary outcomes={stats.data.outcomes} />
          </Card>
        ) : null}

        {stats.data && !tenantId && stats.data.tenants.length > 0 ? (
          <Card title="Per tenant" description="Status classes per tenant: a tenant held back by its rate limit shows here." className="card-flush">
            <TenantOutcomeTable tenants={stats.data.tenants} nameOf={tenantName} />
          </Card>
        ) : null}

        <Card title="Circuit breakers" description="Live from the gateway, refreshed every 3 seconds.">
          <BreakerTable />
        </Card>

        {stats.data === undefined ? (
          <Card>{stats.error ? <ErrorState error={stats.error} onRetry={stats.reload} /> : <LoadingState label="Loading statistics…" />}</Card>
        ) : (
          <div className="grid-2">
            <Card title="Request rate" description="Requests per minute, per provider that answered, and those no provider answered">
              <LineChart
                title="Request rate per provider"
                from={from}
                to={to}
                unit=" req/min"
                format={(v) => (v >= 10 || Number.isInteger(v) ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : String(Number(v.toPrecision(2))))}
                series={[{ name: "all", color: "var(--text-strong)", dashed: true, points: seriesOf(total, perMinute) }, ...perProvider(perMinute, false, "", true)]}
              />
            </Card>
            <Card title="Error rate" description="Share of requests that failed (5xx) or whose stream was cut: overall, per provider that answered, and with no provider">
              <LineChart
                title="Error rate per provider"
                from={from}
                to={to}
                format={(v) => formatPercent(v)}
                series={[{ name: "all", color: "var(--text-strong)", dashed: true, points: seriesOf(total, rateOf) }, ...perProvider(rateOf, false, "", true)]}
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
            <Card title="Fallbacks" description="Requests served by a non-primary target (a request every target failed is not a fallback)">
              <LineChart title="Fallbacks per provider" from={from} to={to} unit=" requests" format={(v) => v.toFixed(0)} integer series={perProvider((b) => b.fallbacks)} emptyText="No fallbacks in this range." />
            </Card>
            <Card title="Tokens" description="Prompt and completion tokens, per provider">
              <LineChart title="Tokens per provider" from={from} to={to} unit=" tokens" format={(v) => formatNumber(Math.round(v))} integer series={perProvider((b) => b.total_tokens)} />
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
