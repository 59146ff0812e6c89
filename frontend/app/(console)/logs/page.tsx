"use client";

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { formatUsd } from "@/lib/money";
import { useApi } from "@/lib/use-api";
import type { LogPage, Page, Provider, Tenant } from "@/lib/api/types";
import { Card, EmptyState, Loadable, PageHeader, Pill, SelectField, StatusCode, TextField } from "@/components/ui";
import { formatDateTime, formatMs, formatNumber, formatShortDateTime } from "@/lib/format";
import { RANGES, isRangeKey } from "@/lib/ranges";

const FILTER_KEYS = ["tenant", "provider", "model", "status", "fallback", "range"] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
const STATUS_OPTIONS = ["2xx", "4xx", "5xx", "400", "401", "403", "404", "408", "429", "500", "502", "503", "504"];
const LIVE_MS = 5_000;
const PAGE_SIZES = ["10", "25", "50", "100"];

export default function LogsPage() {
  const router = useRouter();
  const params = useSearchParams();
  const filters: Record<FilterKey, string> = {
    tenant: params.get("tenant") ?? "",
    provider: params.get("provider") ?? "",
    model: params.get("model") ?? "",
    status: params.get("status") ?? "",
    fallback: params.get("fallback") ?? "",
    range: params.get("range") ?? "24h",
  };
  const cursor = params.get("cursor") ?? "";
  const pageSize = PAGE_SIZES.includes(params.get("limit") ?? "") ? (params.get("limit") as string) : "50";
  const [model, setModel] = useState(filters.model);
  useEffect(() => setModel(filters.model), [filters.model]);

  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  const providers = useApi<Page<Provider>>("/providers", { limit: 200 });
  const key = JSON.stringify({ ...filters, cursor, pageSize });
  const logs = useApi<LogPage>(
    "/logs",
    () => {
      const range = RANGES.find((r) => r.key === filters.range);
      return {
        tenant_id: filters.tenant || undefined,
        provider: filters.provider || undefined,
        model: filters.model || undefined,
        status: filters.status || undefined,
        fallback: filters.fallback || undefined,
        from: range ? new Date(Date.now() - range.ms).toISOString() : undefined,
        cursor: cursor || undefined,
        limit: Number(pageSize),
      };
    },
    { key, pollMs: cursor ? undefined : LIVE_MS },
  );

  const navigate = (changes: Partial<Record<FilterKey | "cursor" | "limit", string>>) => {
    const next = new URLSearchParams(params.toString());
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!("cursor" in changes)) next.delete("cursor");
    const text = next.toString();
    router.push(text ? `/logs?${text}` : "/logs");
  };
  const submitModel = (event: FormEvent) => {
    event.preventDefault();
    navigate({ model: model.trim() });
  };
  const active = FILTER_KEYS.some((k) => k !== "range" && filters[k]);
  const tenantName = (id: number | null) => (id === null ? "—" : tenants.data?.data.find((t) => t.id === id)?.name ?? `#${id}`);

  return (
    <>
      <PageHeader
        title="Request logs"
        description="Every request the gateway served, newest first: metadata only, never prompt or answer text."
        actions={!cursor ? <Pill tone="green">Live · refreshes every 5 s</Pill> : <Pill tone="gray">Paused on an older page</Pill>}
      />
      <div className="stack">
        <Card>
          <form className="filters" onSubmit={submitModel} aria-label="Filters">
            <SelectField label="Tenant" value={filters.tenant} onChange={(e) => navigate({ tenant: e.target.value })}>
              <option value="">All tenants</option>
              {(tenants.data?.data ?? []).map((t) => (
                <option key={t.id} value={String(t.id)}>
                  {t.name}
                </option>
              ))}
              {filters.tenant && !(tenants.data?.data ?? []).some((t) => String(t.id) === filters.tenant) ? <option value={filters.tenant}>Tenant {filters.tenant}</option> : null}
            </SelectField>
            <SelectField label="Provider" value={filters.provider} onChange={(e) => navigate({ provider: e.target.value })}>
              <option value="">All providers</option>
              {(providers.data?.data ?? []).map((p) => (
                <option key={p.id} value={p.name}>
                  {p.name}
                </option>
              ))}
              {filters.provider && !(providers.data?.data ?? []).some((p) => p.name === filters.provider) ? <option value={filters.provider}>{filters.provider}</option> : null}
            </SelectField>
            <TextField label="Model" value={model} onChange={(e) => setModel(e.target.value)} onBlur={() => model.trim() !== filters.model && navigate({ model: model.trim() })} placeholder="any" />
            <SelectField label="Status" value={filters.status} onChange={(e) => navigate({ status: e.target.value })}>
              <option value="">Any status</option>
              {STATUS_OPTIONS.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </SelectField>
            <SelectField label="Fallback" value={filters.fallback} onChange={(e) => navigate({ fallback: e.target.value })}>
              <option value="">Any</option>
              <option value="true">Fell back</option>
              <option value="false">Served by the first target</option>
            </SelectField>
            <SelectField label="Time range" value={isRangeKey(filters.range) ? filters.range : "all"} onChange={(e) => navigate({ range: e.target.value })}>
              {RANGES.map((r) => (
                <option key={r.key} value={r.key}>
                  Last {r.label}
                </option>
              ))}
              <option value="all">All time</option>
            </SelectField>
            <div className="inline">
              <button type="submit" className="btn">
                Apply
              </button>
              {active ? (
                <button type="button" className="btn btn-link" onClick={() => router.push(`/logs?range=${filters.range}`)}>
                  Clear filters
                </button>
              ) : null}
            </div>
          </form>
        </Card>
        <Card className="card-flush">
          <Loadable
            {...logs}
            empty={(page) =>
              page.data.length === 0 ? (
                <EmptyState title={cursor ? "No older requests" : "No requests match"}>
                  {cursor ? "This is the end of the log." : active ? "Try wider filters or a longer time range." : "Requests appear here a moment after the gateway serves them."}
                </EmptyState>
              ) : null
            }
          >
            {(page) => (
              <>
                <div className="table-wrap">
                  <table className="table" aria-label="Requests">
                    <thead>
                      <tr>
                        <th>Time</th>
                        <th>Request</th>
                        <th>Tenant</th>
                        <th>Model</th>
                        <th>Provider</th>
                        <th>Status</th>
                        <th className="num">Latency</th>
                        <th className="num">TTFT</th>
                        <th className="num">Tokens</th>
                        <th className="num">Cost</th>
                        <th className="num">Attempts</th>
                      </tr>
                    </thead>
                    <tbody>
                      {page.data.map((log) => (
                        <tr key={log.request_id}>
                          <td className="nowrap muted" title={formatDateTime(log.created_at)}>
                            {formatShortDateTime(log.created_at)}
                          </td>
                          <td className="nowrap">
                            <Link className="mono row-link" href={`/logs/${encodeURIComponent(log.request_id)}`} title={log.request_id}>
                              {log.request_id.length > 14 ? `${log.request_id.slice(0, 14)}…` : log.request_id}
                            </Link>
                          </td>
                          <td className="nowrap">{tenantName(log.tenant_id)}</td>
                          <td className="mono nowrap">{log.model || <span className="muted">—</span>}</td>
                          <td className="strong nowrap">{log.provider ?? <span className="muted">none</span>}</td>
                          <td>
                            <StatusCode status={log.status} />
                          </td>
                          <td className="num">{formatMs(log.latency_ms)}</td>
                          <td className="num">{log.stream ? formatMs(log.ttft_ms) : <span className="muted">—</span>}</td>
                          <td className="num">{formatNumber(log.total_tokens)}</td>
                          <td className="num nowrap">{log.status < 400 || log.cost_usd ? formatUsd(log.cost_usd, { estimated: log.cost_estimated }) : <span className="muted">—</span>}</td>
                          <td className="num nowrap">
                            {log.fallback ? <Pill tone="amber">fallback</Pill> : null} {log.attempt_count}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <div className="pager">
                  <span>
                    {page.data.length} request{page.data.length === 1 ? "" : "s"} on this page
                  </span>
                  <div className="pager-buttons">
                    <label className="inline">
                      Page size
                      <select className="input" style={{ width: 80, height: 28 }} value={pageSize} onChange={(e) => navigate({ limit: e.target.value === "50" ? "" : e.target.value })}>
                        {PAGE_SIZES.map((size) => (
                          <option key={size} value={size}>
                            {size}
                          </option>
                        ))}
                      </select>
                    </label>
                    <button type="button" className="btn btn-small" disabled={!cursor} onClick={() => navigate({ cursor: "" })}>
                      Newest
                    </button>
                    <button type="button" className="btn btn-small" disabled={!page.next_cursor} onClick={() => navigate({ cursor: page.next_cursor ?? "" })}>
                      Older
                    </button>
                  </div>
                </div>
              </>
            )}
          </Loadable>
        </Card>
      </div>
    </>
  );
}
