"use client";

import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { useState } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { useCanWrite } from "@/lib/session";
import type { Tenant, TenantWrite } from "@/lib/api/types";
import { Alert, Card, Loadable, PageHeader, Pill, ReadOnlyNotice } from "@/components/ui";
import { TenantForm } from "@/components/tenant-form";
import { ManagedBadge, ManagedNotice } from "@/components/managed-by-file";
import { BudgetPanel } from "@/components/budget-bar";
import { ApiKeys } from "@/components/api-keys";

export default function TenantPage() {
  const { id } = useParams<{ id: string }>();
  const router = useRouter();
  const canWrite = useCanWrite();
  const tenant = useApi<Tenant>(`/tenants/${encodeURIComponent(id)}`);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const save = async (body: TenantWrite) => {
    await api.patch<Tenant>(`/tenants/${id}`, body);
    tenant.reload(); // the header shows the saved name and status
  };
  const remove = async (t: Tenant) => {
    if (!window.confirm(`Delete tenant ${t.name} with its keys and tenant-scoped rules?`)) return;
    try {
      await api.delete(`/tenants/${t.id}`);
      router.push("/tenants");
    } catch (err) {
      setDeleteError(errorMessage(err));
    }
  };
  return (
    <>
      <div className="breadcrumb">
        <Link href="/tenants">Tenants & API keys</Link> / {tenant.data?.name ?? id}
      </div>
      <Loadable {...tenant}>
        {(t) => (
          <>
            <PageHeader
              title={t.name}
              description={
                <>
                  Tenant #{t.id} · <Link href={`/logs?tenant=${t.id}`}>its request logs</Link>
                </>
              }
              actions={
                <>
                  {t.status === "active" ? <Pill tone="green">active</Pill> : <Pill tone="gray">disabled</Pill>}
                  <ManagedBadge file={t.managed_by} />
                  {canWrite && !t.managed_by ? (
                    <button type="button" className="btn btn-danger" onClick={() => void remove(t)}>
                      Delete tenant
                    </button>
                  ) : null}
                </>
              }
            />
            <div className="stack">
              {!canWrite ? <ReadOnlyNotice /> : null}
              <ManagedNotice file={t.managed_by} />
              {deleteError ? <Alert tone="error" title="Not deleted">{deleteError}</Alert> : null}
              <Card title="Budget" description="The tenant's spend this period against its budget.">
                <BudgetPanel path={`/tenants/${t.id}/budget`} />
              </Card>
              <ApiKeys tenant={t} />
              <Card title="Limits and models">
                <TenantForm tenant={t} readOnly={!canWrite || Boolean(t.managed_by)} onSubmit={save} submitLabel="Save tenant" />
              </Card>
            </div>
          </>
        )}
      </Loadable>
    </>
  );
}
