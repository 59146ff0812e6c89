"use client";

import Link from "next/link";
import { useApi } from "@/lib/use-api";
import { useBreakers } from "@/lib/breakers";
import { useCanWrite } from "@/lib/session";
import type { Page, Rule, Tenant } from "@/lib/api/types";
import { BreakerPill, Card, EmptyState, Loadable, PageHeader, Pill, ReadOnlyNotice, Tag } from "@/components/ui";
import { tierName } from "@/components/rule-form";

export default function RulesPage() {
  const canWrite = useCanWrite();
  const rules = useApi<Page<Rule>>("/rules", { limit: 200 });
  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  const breakers = useBreakers();
  const tenantName = (id: number | null) => (id === null ? null : tenants.data?.data.find((t) => t.id === id)?.name ?? `tenant ${id}`);
  return (
    <>
      <PageHeader
        title="Routing rules"
        description="Which providers serve a model, in which order. Tenant-scoped rules override the global ones for their tenant."
        actions={
          <>
            <Link className="btn" href="/rules/tester">
              Rule tester
            </Link>
            {canWrite ? (
              <Link className="btn btn-primary" href="/rules/new">
                New rule
              </Link>
            ) : null}
          </>
        }
      />
      <div className="stack">
        {!canWrite ? <ReadOnlyNotice /> : null}
        <Card className="card-flush">
          <Loadable
            {...rules}
            empty={(page) =>
              page.data.length === 0 ? (
                <EmptyState title="No routing rules" action={canWrite ? <Link className="btn btn-primary" href="/rules/new">New rule</Link> : null}>
                  Without a rule for a model, the gateway cannot route requests for it.
                </EmptyState>
              ) : null
            }
          >
            {(page) => (
              <div className="table-wrap">
                <table className="table" aria-label="Routing rules">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Model pattern</th>
                      <th>Capability</th>
                      <th>Scope</th>
                      <th>Targets</th>
                      <th>Hedging</th>
                      <th>Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.map((rule) => {
                      const sorted = [...rule.targets].sort((a, b) => (a.tier ?? 0) - (b.tier ?? 0));
                      return (
                        <tr key={rule.id}>
                          <td>
                            <Link className="row-link" href={`/rules/${rule.id}`}>
                              {rule.name}
                            </Link>
                          </td>
                          <td className="mono">{rule.model_pattern}</td>
                          <td>
                            <Tag>{rule.capability}</Tag>
                          </td>
                          <td>{rule.tenant_id === null ? <span className="muted">global</span> : <Pill tone="violet">{tenantName(rule.tenant_id)}</Pill>}</td>
                          <td>
                            {sorted.map((t, i) => (
                              <div key={`${t.provider}-${i}`} className="inline" style={{ marginBottom: 2 }}>
                                <span className="muted" style={{ minWidth: 70 }}>
                                  {tierName(t.tier ?? 0)}
                                </span>
                                <span className="strong">{t.provider}</span>
                                {t.model ? <span className="muted mono">{t.model}</span> : null}
                                {(t.weight ?? 1) !== 1 ? <span className="muted">w{t.weight}</span> : null}
                                <BreakerPill state={breakers.byProvider.get(t.provider)?.state ?? (breakers.list ? "closed" : undefined)} />
                              </div>
                            ))}
                          </td>
                          <td>{rule.hedge_delay_ms === "auto" ? "auto (p95)" : rule.hedge_delay_ms ? `${rule.hedge_delay_ms} ms` : <span className="muted">off</span>}</td>
                          <td>{rule.enabled ? <Pill tone="green">Enabled</Pill> : <Pill tone="gray">Disabled</Pill>}</td>
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
