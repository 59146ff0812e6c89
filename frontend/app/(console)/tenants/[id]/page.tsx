"use client";

import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { useCanWrite } from "@/lib/session";
import type { ApiKey, CreatedKey, Page, Tenant, TenantWrite } from "@/lib/api/types";
import { Alert, Card, CopyButton, EmptyState, Loadable, NO_ERRORS, PageHeader, Pill, ReadOnlyNotice, TextField, formErrorsFrom, type FormErrors } from "@/components/ui";
import { TenantForm } from "@/components/tenant-form";
import { ManagedBadge, ManagedNotice } from "@/components/managed-by-file";
import { BudgetPanel, KeyBudgets } from "@/components/budget-bar";
import { formatDateTime, formatNumber } from "@/lib/format";
import { numberOrNull, paramIn } from "@/lib/forms";

function NewKeyForm({ tenantId, onCreated }: { tenantId: number; onCreated: (created: CreatedKey) => void }) {
  const [name, setName] = useState("");
  const [rpm, setRpm] = useState("");
  const [tpm, setTpm] = useState("");
  const [concurrency, setConcurrency] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const created = await api.post<CreatedKey>(`/tenants/${tenantId}/keys`, { name: name.trim(), rpm_limit: numberOrNull(rpm), tpm_limit: numberOrNull(tpm), max_concurrency: numberOrNull(concurrency) });
      setName("");
      setRpm("");
      setTpm("");
      setConcurrency("");
      onCreated(created);
    } catch (err) {
      setErrors(formErrorsFrom(err, paramIn(["name", "rpm_limit", "tpm_limit", "max_concurrency"])));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label="New API key">
      {errors.form ? <Alert tone="error" title="Key not created">{errors.form}</Alert> : null}
      <div className="form-grid-3">
        <TextField label="Key name" value={name} onChange={(e) => setName(e.target.value)} error={errors.fields.name} placeholder="e.g. production backend" />
        <TextField label="Key RPM limit" type="number" min="1" value={rpm} onChange={(e) => setRpm(e.target.value)} error={errors.fields.rpm_limit} placeholder="tenant's limit" />
        <TextField label="Key TPM limit" type="number" min="1" value={tpm} onChange={(e) => setTpm(e.target.value)} error={errors.fields.tpm_limit} placeholder="tenant's limit" />
        <TextField label="Key max concurrent requests" type="number" min="1" value={concurrency} onChange={(e) => setConcurrency(e.target.value)} error={errors.fields.max_concurrency} placeholder="tenant's limit" />
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Creating…" : "Create API key"}
        </button>
      </div>
    </form>
  );
}

function Keys({ tenant }: { tenant: Tenant }) {
  const canWrite = useCanWrite();
  const keys = useApi<Page<ApiKey>>(`/tenants/${tenant.id}/keys`, { limit: 200 });
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [revokeError, setRevokeError] = useState<string | null>(null);
  const revoke = async (key: ApiKey) => {
    if (!window.confirm(`Revoke key ${key.name || key.prefix}? Requests with it are refused from now on.`)) return;
    setRevokeError(null);
    try {
      await api.post(`/tenants/${tenant.id}/keys/${key.id}/revoke`);
      keys.reload();
    } catch (err) {
      setRevokeError(errorMessage(err));
    }
  };
  return (
    <Card title="API keys" description="A key is shown once, when it is created; afterwards only its prefix.">
      <div className="stack" style={{ gap: 16 }}>
        {created ? (
          <div role="region" aria-label="New API key">
            <Alert tone="success" title="Copy this key now: it will not be shown again.">
              <div className="secret-box" style={{ marginTop: 8 }}>
                <code data-testid="new-api-key">{created.key}</code>
                <CopyButton text={created.key} label="Copy key" />
              </div>
              <div style={{ marginTop: 8 }}>
                <button type="button" className="btn btn-small" onClick={() => setCreated(null)}>
                  I have stored it
                </button>
              </div>
            </Alert>
          </div>
        ) : null}
        {canWrite ? (
          <NewKeyForm
            tenantId={tenant.id}
            onCreated={(c) => {
              setCreated(c);
              keys.reload();
            }}
          />
        ) : null}
        {revokeError ? <Alert tone="error" title="Not revoked">{revokeError}</Alert> : null}
        <Loadable {...keys} empty={(page) => (page.data.length === 0 ? <EmptyState title="No API keys">This tenant cannot call the gateway until it has a key.</EmptyState> : null)}>
          {(page) => (
            <div className="table-wrap" style={{ margin: "0 -20px -20px" }}>
              <table className="table" aria-label="API keys">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Prefix</th>
                    <th>Status</th>
                    <th className="num">RPM</th>
                    <th className="num">TPM</th>
                    <th className="num">Concurrent</th>
                    <th>Created</th>
                    <th>Last used</th>
                    {canWrite ? <th className="actions">Actions</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((k) => (
                    <tr key={k.id}>
                      <td className="strong">
                        {k.name || <span className="muted">unnamed</span>} <ManagedBadge file={k.managed_by} />
                      </td>
                      <td className="mono">{k.prefix}…</td>
                      <td>{k.status === "active" ? <Pill tone="green">active</Pill> : <Pill tone="gray">revoked</Pill>}</td>
                      <td className="num">{k.rpm_limit ? formatNumber(k.rpm_limit) : <span className="muted">—</span>}</td>
                      <td className="num">{k.tpm_limit ? formatNumber(k.tpm_limit) : <span className="muted">—</span>}</td>
                      <td className="num">{k.max_concurrency ? formatNumber(k.max_concurrency) : <span className="muted">—</span>}</td>
                      <td className="nowrap muted">{formatDateTime(k.created_at)}</td>
                      <td className="nowrap muted">{formatDateTime(k.last_used_at)}</td>
                      {canWrite ? (
                        <td className="actions">
                          {k.managed_by ? (
                            <span className="muted">in {k.managed_by}</span>
                          ) : k.status === "active" ? (
                            <button type="button" className="btn btn-small btn-danger" onClick={() => void revoke(k)} aria-label={`Revoke key ${k.name || k.prefix}`}>
                              Revoke
                            </button>
                          ) : (
                            <span className="muted">revoked {formatDateTime(k.revoked_at)}</span>
                          )}
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Loadable>
      </div>
      {keys.data && keys.data.data.length > 0 ? (
        <div style={{ marginTop: 20 }}>
          <div className="nav-section" style={{ padding: 0, marginBottom: 8 }}>Key budgets</div>
          <KeyBudgets tenantId={tenant.id} keys={keys.data.data} />
        </div>
      ) : null}
    </Card>
  );
}

export default function TenantPage() {
  const { id } = useParams<{ id: string }>();
  const router = useRouter();
  const canWrite = useCanWrite();
  const tenant = useApi<Tenant>(`/tenants/${encodeURIComponent(id)}`);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const save = async (body: TenantWrite) => {
    await api.patch<Tenant>(`/tenants/${id}`, body);
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
              <Keys tenant={t} />
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
