"use client";

import Link from "next/link";
import { useMemo } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { useApi } from "@/lib/use-api";
import type { Page, Tenant } from "@/lib/api/types";
import type { Budget, GroupBy, SpendReport, SpendSeries } from "@/lib/api/spend-types";
import { Alert, Card, EmptyState, ErrorState, LoadingState, PageHeader, Pill } from "@/components/ui";
import { LineChart, PALETTE, type Series } from "@/components/line-chart";
import { BudgetBar } from "@/components/budget-bar";
import { formatNumber } from "@/lib/format";
import { formatUsd, formatUsdAxis } from "@/lib/money";

const RANGES = [
  { key: "1h", label: "1 h", ms: 3_600_000, stepS: 120 },
  { key: "24h", label: "24 h", ms: 24 * 3_600_000, stepS: 1_800 },
  { key: "7d", label: "7 d", ms: 7 * 24 * 3_600_000, stepS: 6 * 3_600 },
  { key: "30d", label: "30 d", ms: 30 * 24 * 3_600_000, stepS: 24 * 3_600 },
] as const;
type RangeKey = (typeof RANGES)[number]["key"];
const GROUPS: { key: GroupBy; label: string }[] = [
  { key: "tenant", label: "Tenant" },
  { key: "key", label: "API key" },
  { key: "provider", label: "Provider" },
  { key: "model", label: "Model" },
  { key: "rule", label: "Rule" },
];

function windowOf(key: RangeKey): { from: string; to: string; step: number } {
  const range = RANGES.find((r) => r.key === key) ?? RANGES[1];
  const stepMs = range.stepS * 1000;
  const to = Math.ceil(Date.now() / stepMs) * stepMs;
  return { from: new Date(to - range.ms).toISOString(), to: new Date(to).toISOString(), step: range.stepS };
}

function csvOf(report: SpendReport): string {
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = [["group_by", "group", "label", "bucket_start", "cost_usd", "requests", "unknown_price_requests"].join(",")];
  for (const s of report.series) {
    for (const p of s.points) {
      lines.push([report.group_by, s.group, s.label, p.start, p.cost_usd, String(p.requests), String(p.unknown)].map(quote).join(","));
    }
  }
  return `${lines.join("\n")}\n`;
}

function download(report: SpendReport) {
  const blob = new Blob([csvOf(report)], { type: "text/csv" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `routerx-spend-by-${report.group_by}-${report.from.slice(0, 10)}.csv`;
  link.click();
  URL.revokeObjectURL(link.href);
}

function Budgets({ tenants }: { tenants: Tenant[] }) {
  const budgets = useApi<{ data: Budget[] }>("/budgets", undefined, { pollMs: 5_000 });
  if (!budgets.data) return budgets.error ? <ErrorState error={budgets.error} onRetry={budgets.reload} /> : <LoadingState label="Loading budgets…" />;
  if (budgets.data.data.length === 0) return <EmptyState title="No budgets">Set one on a tenant or an API key page.</EmptyState>;
  return (
    <div className="stack" style={{ gap: 16 }}>
      {budgets.data.data.map((b) => {
        const tenant = b.scope === "tenant" ? tenants.find((t) => t.id === b.subject_id) : undefined;
        return (
          <div key={`${b.scope}-${b.subject_id}`} aria-label={`Budget of ${b.scope} ${tenant?.name ?? b.subject_id}`}>
            <div style={{ marginBottom: 4 }}>
              {b.scope === "tenant" ? <Link href={`/tenants/${b.subject_id}`}>{tenant?.name ?? `tenant #${b.subject_id}`}</Link> : <span>API key #{b.subject_id}</span>}{" "}
              <Pill tone="gray">{b.scope}</Pill>
            </div>
            <BudgetBar budget={b} />
          </div>
        );
      })}
    </div>
  );
}

export default function SpendPage() {
  const router = useRouter();
  const params = useSearchParams();
  const rangeKey = (RANGES.some((r) => r.key === params.get("range")) ? params.get("range") : "24h") as RangeKey;
  const groupBy = (GROUPS.some((g) => g.key === params.get("by")) ? params.get("by") : "tenant") as GroupBy;
  const tenantId = params.get("tenant") ?? "";
  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  const report = useApi<SpendReport>("/spend", () => ({ ...windowOf(rangeKey), group_by: groupBy, tenant_id: tenantId || undefined }), {
    pollMs: 10_000,
    key: `${rangeKey}/${groupBy}/${tenantId}`,
  });
  const setParam = (name: string, value: string) => {
    const next = new URLSearchParams(params.toString());
    if (value) next.set(name, value);
    else next.delete(name);
    router.replace(`/spend?${next.toString()}`);
  };
  const data = report.data;
  const series: Series[] = useMemo(() => {
    if (!data) return [];
    return data.series.map((s: SpendSeries, i) => ({
      name: s.label,
      color: PALETTE[i % PALETTE.length] ?? "#495057",
      points: s.points.map((p) => ({ t: new Date(p.start).getTime(), v: Number(p.cost_usd) })),
    }));
  }, [data]);
  const groupLabel = GROUPS.find((g) => g.key === groupBy)?.label ?? groupBy;

  return (
    <>
      <PageHeader
        title="Spend"
        description={
          <>
            What requests cost, from each answer&apos;s usage and the <Link href="/spend/prices">price table</Link>.
          </>
        }
        actions={
          <>
            <label className="inline">
              <span className="sr-only">Tenant</span>
              <select className="input" style={{ width: 170 }} value={tenantId} onChange={(e) => setParam("tenant", e.target.value)}>
                <option value="">All tenants</option>
                {(tenants.data?.data ?? []).map((t) => (
                  <option key={t.id} value={String(t.id)}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
            <label className="inline">
              <span className="sr-only">Group by</span>
              <select className="input" style={{ width: 140 }} value={groupBy} onChange={(e) => setParam("by", e.target.value)} aria-label="Group by">
                {GROUPS.map((g) => (
                  <option key={g.key} value={g.key}>
                    by {g.label.toLowerCase()}
                  </option>
                ))}
              </select>
            </label>
            <div className="segmented" role="group" aria-label="Time range">
              {RANGES.map((r) => (
                <button key={r.key} type="button" aria-pressed={r.key === rangeKey} onClick={() => setParam("range", r.key)}>
                  {r.label}
                </button>
              ))}
            </div>
            <button type="button" className="btn" disabled={!data} onClick={() => data && download(data)}>
              Export CSV
            </button>
          </>
        }
      />
      <div className="stack">
        {data && data.unknown > 0 ? (
          <Alert tone="warning" title="Some requests have no known price">
            {formatNumber(data.unknown)} request(s) in this range were answered by a model without a price: their cost is unknown and not in the totals. Add an override on the{" "}
            <Link href="/spend/prices">price table</Link>.
          </Alert>
        ) : null}
        <div className="grid-4">
          <Card>
            <div className="stat">
              <span className="stat-label">Spend</span>
              <span className="stat-value" data-testid="spend-total">{data ? formatUsd(data.total_usd) : "—"}</span>
              <span className="stat-sub">in the selected range</span>
            </div>
          </Card>
          <Card>
            <div className="stat">
              <span className="stat-label">Requests</span>
              <span className="stat-value">{data ? formatNumber(data.requests) : "—"}</span>
              <span className="stat-sub">{data && data.requests ? `${formatUsd(String(Number(data.total_usd) / Math.max(1, data.requests - data.unknown)))} per priced request` : "\u00a0"}</span>
            </div>
          </Card>
          <Card>
            <div className="stat">
              <span className="stat-label">Unknown price</span>
              <span className="stat-value">{data ? formatNumber(data.unknown) : "—"}</span>
              <span className="stat-sub">requests not in the totals</span>
            </div>
          </Card>
          <Card>
            <div className="stat">
              <span className="stat-label">Top {groupLabel.toLowerCase()}</span>
              <span className="stat-value" style={{ fontSize: 18 }}>{data?.series[0]?.label ?? "—"}</span>
              <span className="stat-sub">{data?.series[0] ? formatUsd(data.series[0].cost_usd) : "\u00a0"}</span>
            </div>
          </Card>
        </div>
        {data === undefined ? (
          <Card>{report.error ? <ErrorState error={report.error} onRetry={report.reload} /> : <LoadingState label="Loading spend…" />}</Card>
        ) : (
          <div className="grid-2">
            <Card title={`Spend over time by ${groupLabel.toLowerCase()}`} description={`USD per ${data.step_s >= 86_400 ? "day" : data.step_s >= 3_600 ? `${data.step_s / 3_600} h` : `${Math.round(data.step_s / 60)} min`}; ${data.series.length > 10 ? "the top 10" : data.series.length === 1 ? "the one" : `all ${data.series.length}`} ${data.series.length === 1 ? groupLabel.toLowerCase() : "groups"}`}>
              <LineChart title={`Spend by ${groupLabel}`} from={new Date(data.from).getTime()} to={new Date(data.to).getTime()} format={formatUsdAxis} series={series} emptyText="No spend in this range." />
            </Card>
            <Card title={`Top spenders by ${groupLabel.toLowerCase()}`}>
              {data.series.length === 0 ? (
                <EmptyState title="No requests in this range" />
              ) : (
                <div className="table-wrap" style={{ margin: "0 -20px -20px" }}>
                  <table className="table dense" aria-label="Top spenders">
                    <thead>
                      <tr>
                        <th>{groupLabel}</th>
                        <th className="num">Spend</th>
                        <th className="num">Requests</th>
                        <th className="num" title="Requests whose model has no price: not in the spend">Unpriced</th>
                        <th className="num" title="Requests priced from estimated usage">Estimated</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.series.map((s) => (
                        <tr key={s.group}>
                          <td className="strong">{groupBy === "tenant" && /^\d+$/.test(s.group) ? <Link href={`/tenants/${s.group}`}>{s.label}</Link> : <span className={groupBy === "model" ? "mono" : undefined}>{s.label}</span>}</td>
                          <td className="num">{formatUsd(s.cost_usd)}</td>
                          <td className="num">{formatNumber(s.requests)}</td>
                          <td className="num">{s.unknown ? <Pill tone="amber">{formatNumber(s.unknown)}</Pill> : <span className="muted">0</span>}</td>
                          <td className="num">{s.estimated ? formatNumber(s.estimated) : <span className="muted">0</span>}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </Card>
          </div>
        )}
        <Card title="Budgets" description="Spend this period against each budget; red once a budget is reached.">
          <Budgets tenants={tenants.data?.data ?? []} />
        </Card>
        {data?.truncated ? <p className="muted">This range holds more requests than one report reads; the oldest buckets are partial.</p> : null}
      </div>
    </>
  );
}
