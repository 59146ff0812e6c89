"use client";

import Link from "next/link";
import { useParams } from "next/navigation";
import { useApi } from "@/lib/use-api";
import type { Page, RequestLogDetail, Tenant } from "@/lib/api/types";
import { Card, KeyValue, Loadable, PageHeader, Pill, StatusCode } from "@/components/ui";
import { RouteTrace } from "@/components/route-trace";
import { formatDateTime, formatMs, formatNumber } from "@/lib/format";
import { formatUsd } from "@/lib/money";

export default function LogPage() {
  const { requestId } = useParams<{ requestId: string }>();
  const log = useApi<RequestLogDetail>(`/logs/${encodeURIComponent(requestId)}`);
  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  return (
    <>
      <div className="breadcrumb">
        <Link href="/logs">Request logs</Link> / <span className="mono">{requestId}</span>
      </div>
      <Loadable {...log}>
        {(l) => {
          const tenant = l.tenant_id === null ? null : tenants.data?.data.find((t) => t.id === l.tenant_id);
          return (
            <>
              <PageHeader
                title="Request"
                description={<span className="mono">{l.request_id}</span>}
                actions={
                  <>
                    <StatusCode status={l.status} />
                    {l.fallback ? <Pill tone="amber">fell back</Pill> : <Pill tone="gray">first target</Pill>}
                  </>
                }
              />
              <div className="stack">
                <Card title="Route trace" description="Each attempt in order: which provider, how it ended, and the breaker state it met.">
                  <RouteTrace attempts={l.attempts} totalMs={l.latency_ms} />
                </Card>
                <Card title="Details">
                  <KeyValue
                    items={[
                      ["Time", formatDateTime(l.created_at)],
                      ["Tenant", l.tenant_id === null ? "—" : <Link href={`/tenants/${l.tenant_id}`}>{tenant?.name ?? `#${l.tenant_id}`}</Link>],
                      ["API key id", l.key_id ?? "—"],
                      ["Requested model", <span key="m" className="mono">{l.model}</span>],
                      ["Capability", l.capability],
                      ["Rule", l.rule ?? "—"],
                      ["Served by", l.provider ?? "none"],
                      ["Upstream model", l.upstream_model ? <span key="u" className="mono">{l.upstream_model}</span> : "—"],
                      ["Error type", l.error_type ?? "—"],
                      ["Latency", formatMs(l.latency_ms)],
                      ["Time to first token", l.stream ? formatMs(l.ttft_ms) : "not streamed"],
                      ["Tokens (prompt / completion)", `${formatNumber(l.prompt_tokens)} / ${formatNumber(l.completion_tokens)}`],
                      ["Cached / reasoning tokens", `${formatNumber(l.cached_tokens ?? 0)} / ${formatNumber(l.reasoning_tokens ?? 0)}`],
                      ["Cost", <span key="c" data-testid="request-cost">{formatUsd(l.cost_usd, { estimated: l.cost_estimated })}{l.cost_estimated ? " (estimated: the stream ended before its usage)" : ""}</span>],
                      ["Budget", l.budget_action === "downgraded" ? "budget reached: downgraded" : "—"],
                      ["Trace id", l.trace_id ? <span key="t" className="mono">{l.trace_id}</span> : "—"],
                    ]}
                  />
                </Card>
              </div>
            </>
          );
        }}
      </Loadable>
    </>
  );
}
