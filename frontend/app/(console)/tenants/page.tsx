"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { api } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { useCanWrite } from "@/lib/session";
import type { Page, Tenant, TenantWrite } from "@/lib/api/types";
import { Card, EmptyState, Loadable, PageHeader, Pill, ReadOnlyNotice, Tag } from "@/components/ui";
import { TenantForm } from "@/components/tenant-form";
import { formatDateTime, formatNumber } from "@/lib/format";

export default function TenantsPage() {
  const router = useRouter();
  const canWrite = useCanWrite();
  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  const [creating, setCreating] = useState(false);
  const create = async (body: TenantWrite) => {
    const tenant = await api.post<Tenant>("/tenants", body);
    router.push(`/tenants/${tenant.id}`);
  };
  return (
    <>
      <PageHeader
        title="Tenants & API keys"
        description="Who may call the gateway: each tenant has its own limits, allowed models and API keys."
        actions={
          canWrite && !creating ? (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New tenant
            </button>
          ) : null
        }
      />
      <div className="stack">
        {!canWrite ? <ReadOnlyNotice /> : null}
        {creating ? (
          <Card title="New tenant" actions={<button type="button" className="btn btn-small" onClick={() => setCreating(false)}>Cancel</button>}>
            <TenantForm readOnly={false} onSubmit={create} submitLabel="Create tenant" />
          </Card>
        ) : null}
        <Card className="card-flush">
          <Loadable
            {...tenants}
            empty={(page) => (page.data.length === 0 ? <EmptyState title="No tenants yet">Create a tenant, then an API key for it.</EmptyState> : null)}
          >
            {(page) => (
              <div className="table-wrap">
                <table className="table" aria-label="Tenants">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Status</th>
                      <th className="num">RPM limit</th>
                      <th className="num">TPM limit</th>
                      <th>Allowed models</th>
                      <th>Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.map((t) => (
                      <tr key={t.id}>
                        <td>
                          <Link className="row-link" href={`/tenants/${t.id}`}>
                            {t.name}
                          </Link>
                        </td>
                        <td>{t.status === "active" ? <Pill tone="green">active</Pill> : <Pill tone="gray">disabled</Pill>}</td>
                        <td className="num">{t.rpm_limit ? formatNumber(t.rpm_limit) : <span className="muted">unlimited</span>}</td>
                        <td className="num">{t.tpm_limit ? formatNumber(t.tpm_limit) : <span className="muted">unlimited</span>}</td>
                        <td>{t.allowed_models.length ? t.allowed_models.map((m) => <Tag key={m}>{m}</Tag>) : <span className="muted">all routed models</span>}</td>
                        <td className="nowrap muted">{formatDateTime(t.created_at)}</td>
                      </tr>
                    ))}
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
