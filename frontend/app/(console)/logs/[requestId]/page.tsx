"use client";

import Link from "next/link";
import { useParams } from "next/navigation";
import { useApi } from "@/lib/use-api";
import type { Page, RequestLogDetail, Tenant } from "@/lib/api/types";
import { Alert, Card, KeyValue, Loadable, PageHeader, Pill, StatusCode } from "@/components/ui";
import { CopyButton } from "@/components/ui";
import { OUTCOME_LABELS, OUTCOME_TONES } from "@/lib/outcomes";
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
                description={
                  <span className="inline">
                    <span className="mono">{l.request_id}</span>
                    <CopyButton text={l.request_id} label="Copy id" />
                  </span>
                }
                actions={
                  <>
                    <StatusCode status={l.status} />
                    <Pill tone={OUTCOME_TONES[l.outcome]}>{OUTCOME_LABELS[l.outcome]}</Pill>
                    {l.outcome === "fallback" ? <Pill tone="amber">fell back</Pill> : l.fallback ? <Pill tone="gray">tried more than one target</Pill> : <Pill tone="gray">first target</Pill>}
                  </>
                }
              />
              <div className="stack">
                {l.outcome === "interrupted" ? (
                  <Alert tone="error" title="The stream was cut">
                    The client received HTTP 200 and the first part of the answer, then an error event when {l.provider ?? "the provider"} stopped sending. It is not counted as a success.
                  </Alert>
                ) : null}
                {l.outcome === "failed" && l.fallback ? (
                  <Alert tone="error" title="Nothing was served">
                    Every target failed, so this request is not counted as a fallback.
                  </Alert>
                ) : null}
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
                      ["Client request id", l.client_request_id ? <span key="cr" className="mono">{l.client_request_id}</span> : "—"],
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
