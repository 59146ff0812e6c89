"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { formatUsd } from "@/lib/money";
import { useApi } from "@/lib/use-api";
import { buildPath, type Query } from "@/lib/api/client";
import { OUTCOMES, type LogPage, type Outcome, type Page, type Provider, type RequestLog, type Tenant } from "@/lib/api/types";
import { Card, EmptyState, Loadable, PageHeader, Pill, SelectField, TextField } from "@/components/ui";
import { RangePicker } from "@/components/range-picker";
import { RequestIdCell, suffixLength } from "@/components/request-id";
import { formatDateTime, formatDay, formatMs, formatNumber, formatTimeOfDay, timeZoneLabel } from "@/lib/format";
import { chooseRange } from "@/lib/ranges";
import { OUTCOME_LABELS, OUTCOME_TONES } from "@/lib/outcomes";

const FILTER_KEYS = ["tenant", "provider", "model", "request_id", "status", "outcome", "range", "from", "to", "sort"] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
const STATUS_OPTIONS = ["2xx", "4xx", "5xx", "400", "401", "403", "404", "408", "429", "499", "500", "502", "503", "504"];
const LIVE_MS = 5_000;
const PAGE_SIZES = ["10", "25", "50", "100"];
const DEFAULT_SORT = "-created_at";
const SORTABLE = ["created_at", "latency_ms", "status", "total_tokens"] as const;
type SortColumn = (typeof SORTABLE)[number];

const SHORT_OUTCOME: Record<Outcome, string> = {
  success: "ok",
  fallback: "fallback",
  interrupted: "cut",
  refused: "refused",
  rate_limited: "limited",
  cancelled: "left",
  failed: "failed",
};

function OutcomeCell({ log }: { log: RequestLog }) {
  return (
    <Pill tone={OUTCOME_TONES[log.outcome]} title={OUTCOME_LABELS[log.outcome]}>
      {log.status} {SHORT_OUTCOME[log.outcome]}
    </Pill>
  );
}

function SortHeader({ column, label, sort, onSort, numeric = false }: { column: SortColumn; label: string; sort: string; onSort: (sort: string) => void; numeric?: boolean }) {
  const active = sort.replace(/^-/, "") === column;
  const descending = sort.startsWith("-");
  const next = active && descending ? column : `-${column}`;
  return (
    <th scope="col" className={numeric ? "num" : undefined} aria-sort={active ? (descending ? "descending" : "ascending") : "none"}>
      <button type="button" className="sort-button" onClick={() => onSort(next)} aria-label={`Sort by ${label.toLowerCase()}, ${next.startsWith("-") ? "descending" : "ascending"}`}>
        {label}
        <span className="sort-mark" aria-hidden="true">
          {active ? (descending ? "▼" : "▲") : "↕"}
        </span>
      </button>
    </th>
  );
}

export default function LogsPage() {
  const router = useRouter();
  const params = useSearchParams();
  const filters: Record<FilterKey, string> = {
    tenant: params.get("tenant") ?? "",
    provider: params.get("provider") ?? "",
    model: params.get("model") ?? "",
    request_id: params.get("request_id") ?? "",
    status: params.get("status") ?? "",
    outcome: params.get("outcome") ?? "",
    range: params.get("range") ?? "24h",
    from: params.get("from") ?? "",
    to: params.get("to") ?? "",
    sort: params.get("sort") ?? "",
  };
  const sort = filters.sort || DEFAULT_SORT;
  const allTime = filters.range === "all";
  const range = chooseRange(new URLSearchParams(params.toString()), "24h");
  const cursor = params.get("cursor") ?? "";
  const pageSize = PAGE_SIZES.includes(params.get("limit") ?? "") ? (params.get("limit") as string) : "50";
  const [model, setModel] = useState(filters.model);
  const [requestId, setRequestId] = useState(filters.request_id);
  useEffect(() => setModel(filters.model), [filters.model]);
  useEffect(() => setRequestId(filters.request_id), [filters.request_id]);

  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  const providers = useApi<Page<Provider>>("/providers", { limit: 200 });
  const key = JSON.stringify({ ...filters, cursor, pageSize });
  const filterQuery = (): Query => {
    const window = allTime ? undefined : chooseRange(new URLSearchParams(params.toString()), "24h");
    return {
      tenant_id: filters.tenant || undefined,
      provider: filters.provider || undefined,
      model: filters.model || undefined,
      request_id: filters.request_id || undefined,
      status: filters.status || undefined,
      outcome: filters.outcome || undefined,
      from: window?.query.from,
      to: window?.key === "custom" ? window.query.to : undefined,
      sort: sort === DEFAULT_SORT ? undefined : sort,
    };
  };
  const live = !cursor && !(range.key === "custom" && !allTime);
  const logs = useApi<LogPage>("/logs", () => ({ ...filterQuery(), cursor: cursor || undefined, limit: Number(pageSize) }), { key, pollMs: live ? LIVE_MS : undefined });

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
  const submitText = (event: FormEvent) => {
    event.preventDefault();
    navigate({ model: model.trim(), request_id: requestId.trim() });
  };
  const active = (["tenant", "provider", "model", "request_id", "status", "outcome"] as const).some((k) => filters[k]);
  const tenantName = (id: number | null) => (id === null ? "—" : tenants.data?.data.find((t) => t.id === id)?.name ?? `#${id}`);
  const exportHref = (format: "csv" | "json") => buildPath("/logs/export", { ...filterQuery(), format });
  const pickerRange = allTime ? { ...range, key: "all" as const } : range;

  let liveNote: ReactNode;
  if (cursor) liveNote = <Pill tone="gray">Paused on an older page</Pill>;
  else if (!live) liveNote = <Pill tone="gray">Fixed range</Pill>;
  else liveNote = <Pill tone="green">Live · refreshes every 5 s</Pill>;

  return (
    <>
      <PageHeader title="Request logs" description="Every request the gateway served: metadata only, never prompt or answer text." actions={liveNote} />
      <div className="stack">
        <Card>
          <div className="stack">
            <RangePicker align="start" range={pickerRange} allowAll onChange={(changes) => navigate({ range: changes.range === "24h" ? "" : changes.range, from: changes.from ?? "", to: changes.to ?? "" })} />
            {range.error ? <p className="field-error">{range.error}</p> : null}
            <form className="filters" onSubmit={submitText} aria-label="Filters">
              <TextField label="Request ID" value={requestId} onChange={(e) => setRequestId(e.target.value)} onBlur={() => requestId.trim() !== filters.request_id && navigate({ request_id: requestId.trim() })} placeholder="any part; the client's own id too" spellCheck={false} />
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
              <TextField label="Model" title="Models starting with this text" value={model} onChange={(e) => setModel(e.target.value)} onBlur={() => model.trim() !== filters.model && navigate({ model: model.trim() })} placeholder="starts with, e.g. gpt-4" spellCheck={false} />
              <SelectField label="Outcome" value={filters.outcome} onChange={(e) => navigate({ outcome: e.target.value })}>
                <option value="">Any outcome</option>
                {OUTCOMES.map((o) => (
                  <option key={o} value={o}>
                    {OUTCOME_LABELS[o]}
                  </option>
                ))}
              </SelectField>
              <SelectField label="Status" value={filters.status} onChange={(e) => navigate({ status: e.target.value })}>
                <option value="">Any status</option>
                {STATUS_OPTIONS.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </SelectField>
              <div className="inline">
                <button type="submit" className="btn">
                  Search
                </button>
                {active ? (
                  <button type="button" className="btn btn-link" onClick={() => navigate({ tenant: "", provider: "", model: "", request_id: "", status: "", outcome: "" })}>
                    Clear filters
                  </button>
                ) : null}
              </div>
            </form>
          </div>
        </Card>
        <Card className="card-flush">
          <div className="logs-toolbar">
            <span className="muted">Times in {timeZoneLabel()}; streamed requests show their time to first token under the latency, and each request its cost under its tokens.</span>
            <div className="export-actions" role="group" aria-label="Export">
              <span className="muted">Export the filtered requests (up to 10,000):</span>
              <a className="btn btn-small" href={exportHref("csv")} download>
                Export CSV
              </a>
              <a className="btn btn-small" href={exportHref("json")} download>
                Export JSON
              </a>
            </div>
          </div>
          <Loadable
            {...logs}
            empty={(page) =>
              page.data.length === 0 ? (
                <EmptyState title={cursor ? "No more requests" : "No requests match"}>
                  {cursor ? "This is the end of the log." : active ? "Try wider filters or a longer time range." : "Requests appear here a moment after the gateway serves them."}
                </EmptyState>
              ) : null
            }
          >
            {(page) => {
              const keep = suffixLength(page.data.map((l) => l.request_id));
              return (
                <>
                  <div className="table-wrap">
                    <table className="table table-logs" aria-label="Requests">
                      <thead>
                        <tr>
                          <SortHeader column="created_at" label="Time" sort={sort} onSort={(s) => navigate({ sort: s === DEFAULT_SORT ? "" : s })} />
                          <th scope="col">Request</th>
                          <th scope="col">Tenant</th>
                          <th scope="col">Model</th>
                          <th scope="col">Provider</th>
                          <SortHeader column="status" label="Status" sort={sort} onSort={(s) => navigate({ sort: s })} />
                          <SortHeader column="latency_ms" label="Latency" sort={sort} onSort={(s) => navigate({ sort: s })} numeric />
                          <SortHeader column="total_tokens" label="Tokens" sort={sort} onSort={(s) => navigate({ sort: s })} numeric />
                          <th scope="col" className="num">Tries</th>
                        </tr>
                      </thead>
                      <tbody>
                        {page.data.map((log) => (
                          <tr key={`${log.request_id}-${log.created_at}`}>
                            <td className="nowrap time-cell" title={formatDateTime(log.created_at)}>
                              {formatTimeOfDay(log.created_at)}
                              <span className="cell-sub">{formatDay(log.created_at)}</span>
                            </td>
                            <td>
                              <RequestIdCell id={log.request_id} keep={keep} />
                              {log.client_request_id ? (
                                <span className="cell-sub mono clip-cell" title={`The client's own id: ${log.client_request_id}`}>
                                  {log.client_request_id}
                                </span>
                              ) : null}
                            </td>
                            <td className="clip-cell" title={tenantName(log.tenant_id)}>
                              {tenantName(log.tenant_id)}
                            </td>
                            <td className="mono model-cell" title={log.model}>
                              {log.model || <span className="muted">—</span>}
                            </td>
                            <td className="strong clip-cell" title={log.provider ?? "no provider answered"}>
                              {log.provider ?? <span className="muted">none</span>}
                            </td>
                            <td>
                              <OutcomeCell log={log} />
                            </td>
                            <td className="num nowrap">
                              {formatMs(log.latency_ms)}
                              {log.stream ? <span className="cell-sub">TTFT {formatMs(log.ttft_ms)}</span> : null}
                            </td>
                            <td className="num nowrap">
                              {formatNumber(log.total_tokens)}
                              {log.attempt_count > 0 ? <span className="cell-sub" title="Cost">{formatUsd(log.cost_usd, { estimated: log.cost_estimated })}</span> : null}
                            </td>
                            <td className="num">{log.attempt_count}</td>
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
                        {sort === DEFAULT_SORT ? "Newest" : "First page"}
                      </button>
                      <button type="button" className="btn btn-small" disabled={!page.next_cursor} onClick={() => navigate({ cursor: page.next_cursor ?? "" })}>
                        {sort === DEFAULT_SORT ? "Older" : "Next page"}
                      </button>
                    </div>
                  </div>
                </>
              );
            }}
          </Loadable>
        </Card>
      </div>
    </>
  );
}
