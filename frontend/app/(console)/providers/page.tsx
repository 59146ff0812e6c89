"use client";

import Link from "next/link";
import { useApi } from "@/lib/use-api";
import { useBreakers } from "@/lib/breakers";
import { useCanWrite } from "@/lib/session";
import type { Page, Provider } from "@/lib/api/types";
import { BreakerPill, Card, EmptyState, Loadable, PageHeader, Pill, ReadOnlyNotice, Tag } from "@/components/ui";

export default function ProvidersPage() {
  const canWrite = useCanWrite();
  const providers = useApi<Page<Provider>>("/providers", { limit: 200 });
  const breakers = useBreakers();
  return (
    <>
      <PageHeader
        title="Providers"
        description="The upstreams the gateway calls: their endpoint, capabilities, timeouts, circuit breaker and secret."
        actions={canWrite ? <Link className="btn btn-primary" href="/providers/new">New provider</Link> : null}
      />
      <div className="stack">
        {!canWrite ? <ReadOnlyNotice /> : null}
        <Card className="card-flush">
          <Loadable
            {...providers}
            empty={(page) =>
              page.data.length === 0 ? (
                <EmptyState title="No providers yet" action={canWrite ? <Link className="btn btn-primary" href="/providers/new">New provider</Link> : null}>
                  A provider is an upstream the gateway can route to. Start with a mock one to rehearse routing.
                </EmptyState>
              ) : null
            }
          >
            {(page) => (
              <div className="table-wrap">
                <table className="table" aria-label="Providers">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Type</th>
                      <th>Capabilities</th>
                      <th>Status</th>
                      <th>Secret</th>
                      <th>Breaker</th>
                      <th>Faults</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.map((p) => {
                      const mock = p.settings.mock;
                      const faulty = p.type === "mock" && mock && (mock.error_status || mock.failure_rate || mock.hang || mock.latency_ms || mock.stream_error_after_chunks !== undefined && mock.stream_error_after_chunks !== null);
                      return (
                        <tr key={p.id}>
                          <td>
                            <Link className="row-link" href={`/providers/${p.id}`}>
                              {p.name}
                            </Link>
                            {p.base_url ? <div className="muted mono">{p.base_url}</div> : null}
                          </td>
                          <td>{p.type}</td>
                          <td>
                            {p.capabilities.map((c) => (
                              <Tag key={c}>{c}</Tag>
                            ))}
                          </td>
                          <td>{p.enabled ? <Pill tone="green">Enabled</Pill> : <Pill tone="gray">Disabled</Pill>}</td>
                          <td>{p.secret_set ? <Pill tone="blue">set</Pill> : <span className="muted">not set</span>}</td>
                          <td>
                            <BreakerPill state={breakers.byProvider.get(p.name)?.state ?? (breakers.list ? "closed" : undefined)} />
                          </td>
                          <td>{faulty ? <Pill tone="amber">Injected</Pill> : <span className="muted">—</span>}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
          </Loadable>
        </Card>
      </div>
    </>
  );
}
