"use client";

import { useState, type FormEvent } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { useCanWrite } from "@/lib/session";
import type { ApiKey, CreatedKey, KeyWrite, Page, Tenant } from "@/lib/api/types";
import { Alert, Card, CopyButton, EmptyState, Loadable, NO_ERRORS, Pill, SelectField, TextField, formErrorsFrom, type FormErrors } from "@/components/ui";
import { FormStatus, IDLE, useUnsavedChangesGuard, type SaveState } from "@/components/form-status";
import { formatDateTime, formatNumber, formatShortDateTime } from "@/lib/format";
import { numberOrNull, numberText, paramIn } from "@/lib/forms";
import { toLocalInput } from "@/lib/ranges";
import { KeyBudgets } from "@/components/budget-bar";
import { ManagedBadge } from "@/components/managed-by-file";

const KEY_FIELDS = ["name", "rpm_limit", "tpm_limit", "max_concurrency", "expires_at"];
const GRACE_OPTIONS: [number, string][] = [
  [0, "none: stop the old key now"],
  [300, "5 minutes"],
  [3_600, "1 hour"],
  [86_400, "24 hours"],
  [7 * 86_400, "7 days"],
];

function keyLabel(key: ApiKey): string {
  return key.name || key.prefix;
}

/** A `datetime-local` value as an ISO time, or null when empty. */
function expiryOf(value: string): string | null {
  if (!value.trim()) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

function KeyState({ apiKey }: { apiKey: ApiKey }) {
  if (apiKey.status === "revoked") return <Pill tone="gray">revoked</Pill>;
  if (apiKey.expired) return <Pill tone="red">expired</Pill>;
  if (apiKey.replaced_by_id !== null) return <Pill tone="amber" title={`Replaced by key #${apiKey.replaced_by_id}`}>rotated · ends {formatDateTime(apiKey.expires_at)}</Pill>;
  if (apiKey.expires_at) return <Pill tone="green" title={`Expires ${formatDateTime(apiKey.expires_at)}`}>active · expires {formatDateTime(apiKey.expires_at)}</Pill>;
  return <Pill tone="green">active</Pill>;
}

function ShownOnce({ created, onDone, title }: { created: CreatedKey; onDone: () => void; title: string }) {
  return (
    <div role="region" aria-label="New API key">
      <Alert tone="success" title={title}>
        <div className="secret-box" style={{ marginTop: 8 }}>
          <code data-testid="new-api-key">{created.key}</code>
          <CopyButton text={created.key} label="Copy key" />
        </div>
        <div style={{ marginTop: 8 }}>
          <button type="button" className="btn btn-small" onClick={onDone}>
            I have stored it
          </button>
        </div>
      </Alert>
    </div>
  );
}

function NewKeyForm({ tenantId, onCreated }: { tenantId: number; onCreated: (created: CreatedKey) => void }) {
  const [name, setName] = useState("");
  const [rpm, setRpm] = useState("");
  const [tpm, setTpm] = useState("");
  const [concurrency, setConcurrency] = useState("");
  const [expires, setExpires] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [state, setState] = useState<SaveState>(IDLE);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    setState(IDLE);
    try {
      const created = await api.post<CreatedKey>(`/tenants/${tenantId}/keys`, { name: name.trim(), rpm_limit: numberOrNull(rpm), tpm_limit: numberOrNull(tpm), max_concurrency: numberOrNull(concurrency), expires_at: expiryOf(expires) });
      setName("");
      setRpm("");
      setTpm("");
      setConcurrency("");
      setExpires("");
      onCreated(created);
    } catch (err) {
      const mapped = formErrorsFrom(err, paramIn(KEY_FIELDS));
      setErrors(mapped);
      setState({ kind: "error", text: mapped.form ?? "Key not created: check the fields marked above." });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label="New API key">
      <div className="form-grid-3">
        <TextField label="Key name" value={name} onChange={(e) => setName(e.target.value)} error={errors.fields.name} placeholder="e.g. production backend" />
        <TextField label="Key RPM limit" type="number" min="1" value={rpm} onChange={(e) => setRpm(e.target.value)} error={errors.fields.rpm_limit} placeholder="tenant's limit" />
        <TextField label="Key TPM limit" type="number" min="1" value={tpm} onChange={(e) => setTpm(e.target.value)} error={errors.fields.tpm_limit} placeholder="tenant's limit" />
        <TextField label="Key max concurrent requests" type="number" min="1" value={concurrency} onChange={(e) => setConcurrency(e.target.value)} error={errors.fields.max_concurrency} placeholder="tenant's limit" />
        <TextField label="Key expires" type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} error={errors.fields.expires_at} hint="Empty: never" />
      </div>
      <div className="form-actions">
        <FormStatus state={state} />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Creating…" : "Create API key"}
        </button>
      </div>
    </form>
  );
}

function EditKeyForm({ tenantId, apiKey, onSaved, onClose }: { tenantId: number; apiKey: ApiKey; onSaved: () => void; onClose: () => void }) {
  const [name, setName] = useState(apiKey.name);
  const [rpm, setRpm] = useState(numberText(apiKey.rpm_limit));
  const [tpm, setTpm] = useState(numberText(apiKey.tpm_limit));
  const [concurrency, setConcurrency] = useState(numberText(apiKey.max_concurrency));
  const [expires, setExpires] = useState(apiKey.expires_at ? toLocalInput(Date.parse(apiKey.expires_at)) : "");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [state, setState] = useState<SaveState>(IDLE);
  const [busy, setBusy] = useState(false);
  const current = JSON.stringify([name, rpm, tpm, concurrency, expires]);
  const [savedAs, setSavedAs] = useState(current);
  useUnsavedChangesGuard(current !== savedAs);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    setState(IDLE);
    const body: KeyWrite = { name: name.trim(), rpm_limit: numberOrNull(rpm), tpm_limit: numberOrNull(tpm), max_concurrency: numberOrNull(concurrency) };
    const expiry = expiryOf(expires);
    if (expiry !== apiKey.expires_at) body.expires_at = expiry;
    try {
      await api.patch<ApiKey>(`/tenants/${tenantId}/keys/${apiKey.id}`, body);
      setSavedAs(current);
      setState({ kind: "saved", text: "Saved. The gateway applies it within two seconds." });
      onSaved();
    } catch (err) {
      const mapped = formErrorsFrom(err, paramIn(KEY_FIELDS));
      setErrors(mapped);
      setState({ kind: "error", text: mapped.form ?? "Not saved: check the fields marked above." });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form key-panel" noValidate onSubmit={(e) => void submit(e)} aria-label={`Edit key ${keyLabel(apiKey)}`}>
      <h3 className="panel-title">Edit key {keyLabel(apiKey)}</h3>
      <div className="form-grid-3">
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={errors.fields.name} />
        <TextField label="RPM limit" type="number" min="1" value={rpm} onChange={(e) => setRpm(e.target.value)} error={errors.fields.rpm_limit} placeholder="tenant's limit" />
        <TextField label="TPM limit" type="number" min="1" value={tpm} onChange={(e) => setTpm(e.target.value)} error={errors.fields.tpm_limit} placeholder="tenant's limit" />
        <TextField label="Max concurrent requests" type="number" min="1" value={concurrency} onChange={(e) => setConcurrency(e.target.value)} error={errors.fields.max_concurrency} placeholder="tenant's limit" />
        <TextField label="Expires" type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} error={errors.fields.expires_at} hint="Empty: never" />
      </div>
      <div className="form-actions">
        <FormStatus state={state} />
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : "Save key"}
        </button>
      </div>
    </form>
  );
}

function RotateKeyForm({ tenantId, apiKey, onRotated, onClose }: { tenantId: number; apiKey: ApiKey; onRotated: (created: CreatedKey) => void; onClose: () => void }) {
  const [grace, setGrace] = useState("3600");
  const [state, setState] = useState<SaveState>(IDLE);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setState(IDLE);
    try {
      const created = await api.post<CreatedKey>(`/tenants/${tenantId}/keys/${apiKey.id}/rotate`, { grace_seconds: Number(grace) });
      onRotated(created);
    } catch (err) {
      setState({ kind: "error", text: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form key-panel" noValidate onSubmit={(e) => void submit(e)} aria-label={`Rotate key ${keyLabel(apiKey)}`}>
      <h3 className="panel-title">Rotate key {keyLabel(apiKey)}</h3>
      <p className="muted" style={{ margin: 0 }}>
        A new key with the same name and limits is shown once. The old key keeps working for the grace period, so clients can switch, then the gateway refuses it.
      </p>
      <div className="form-grid-3">
        <SelectField label="Grace period" value={grace} onChange={(e) => setGrace(e.target.value)}>
          {GRACE_OPTIONS.map(([seconds, label]) => (
            <option key={seconds} value={String(seconds)}>
              {label}
            </option>
          ))}
        </SelectField>
      </div>
      <div className="form-actions">
        <FormStatus state={state} />
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Rotating…" : "Rotate key"}
        </button>
      </div>
    </form>
  );
}

type Panel = { kind: "edit" | "rotate"; key: ApiKey } | null;

export function ApiKeys({ tenant }: { tenant: Tenant }) {
  const canWrite = useCanWrite();
  const keys = useApi<Page<ApiKey>>(`/tenants/${tenant.id}/keys`, { limit: 200 });
  const [created, setCreated] = useState<{ key: CreatedKey; rotated: boolean } | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [panel, setPanel] = useState<Panel>(null);
  const act = async (action: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await action();
      keys.reload();
    } catch (err) {
      setActionError(errorMessage(err));
    }
  };
  const revoke = (key: ApiKey) => {
    if (!window.confirm(`Revoke key ${keyLabel(key)}? Requests with it are refused from now on.`)) return;
    void act(() => api.post(`/tenants/${tenant.id}/keys/${key.id}/revoke`));
  };
  const remove = (key: ApiKey) => {
    if (!window.confirm(`Delete key ${keyLabel(key)}? It is refused from now on and no longer listed; its requests stay in the log.`)) return;
    if (panel?.key.id === key.id) setPanel(null);
    void act(() => api.delete(`/tenants/${tenant.id}/keys/${key.id}`));
  };
  return (
    <Card title="API keys" description="A key is shown once, when it is created or rotated; afterwards only its prefix.">
      <div className="stack" style={{ gap: 16 }}>
        {created ? <ShownOnce created={created.key} title={created.rotated ? "Rotated. Copy the new key now: it will not be shown again." : "Copy this key now: it will not be shown again."} onDone={() => setCreated(null)} /> : null}
        {canWrite ? (
          <NewKeyForm
            tenantId={tenant.id}
            onCreated={(c) => {
              setCreated({ key: c, rotated: false });
              keys.reload();
            }}
          />
        ) : null}
        {actionError ? <Alert tone="error" title="Not done">{actionError}</Alert> : null}
        {panel?.kind === "edit" ? <EditKeyForm key={`edit-${panel.key.id}`} tenantId={tenant.id} apiKey={panel.key} onSaved={keys.reload} onClose={() => setPanel(null)} /> : null}
        {panel?.kind === "rotate" ? (
          <RotateKeyForm
            key={`rotate-${panel.key.id}`}
            tenantId={tenant.id}
            apiKey={panel.key}
            onClose={() => setPanel(null)}
            onRotated={(c) => {
              setPanel(null);
              setCreated({ key: c, rotated: true });
              keys.reload();
            }}
          />
        ) : null}
        <Loadable {...keys} empty={(page) => (page.data.length === 0 ? <EmptyState title="No API keys">This tenant cannot call the gateway until it has a key.</EmptyState> : null)}>
          {(page) => (
            <div className="table-wrap flush-table">
              <table className="table" aria-label="API keys">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Prefix</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="num">RPM</th>
                    <th scope="col" className="num">TPM</th>
                    <th scope="col" className="num">Concurrent</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last used</th>
                    {canWrite ? <th scope="col" className="actions">Actions</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((k) => {
                    const usable = k.status === "active" && !k.expired;
                    return (
                      <tr key={k.id}>
                        <td className="strong">
                          {k.name || <span className="muted">unnamed</span>} <ManagedBadge file={k.managed_by} />
                        </td>
                        <td className="mono">{k.prefix}…</td>
                        <td>
                          <KeyState apiKey={k} />
                        </td>
                        <td className="num">{k.rpm_limit ? formatNumber(k.rpm_limit) : <span className="muted">—</span>}</td>
                        <td className="num">{k.tpm_limit ? formatNumber(k.tpm_limit) : <span className="muted">—</span>}</td>
                        <td className="num">{k.max_concurrency ? formatNumber(k.max_concurrency) : <span className="muted">—</span>}</td>
                        <td className="nowrap muted" title={formatDateTime(k.created_at)}>{formatShortDateTime(k.created_at)}</td>
                        <td className="nowrap muted" title={formatDateTime(k.last_used_at)}>{formatShortDateTime(k.last_used_at)}</td>
                        {canWrite ? (
                          <td className="actions">
                            {k.managed_by ? (
                              <span className="muted">in {k.managed_by}</span>
                            ) : usable ? (
                              <>
                                <button type="button" className="btn btn-small" onClick={() => setPanel({ kind: "edit", key: k })} aria-label={`Edit key ${keyLabel(k)}`}>
                                  Edit
                                </button>
                                {k.replaced_by_id === null ? (
                                  <button type="button" className="btn btn-small" onClick={() => setPanel({ kind: "rotate", key: k })} aria-label={`Rotate key ${keyLabel(k)}`}>
                                    Rotate
                                  </button>
                                ) : null}
                                <button type="button" className="btn btn-small btn-danger" onClick={() => revoke(k)} aria-label={`Revoke key ${keyLabel(k)}`}>
                                  Revoke
                                </button>
                              </>
                            ) : null}
                            {k.managed_by ? null : (
                              <button type="button" className="btn btn-small btn-danger" onClick={() => remove(k)} aria-label={`Delete key ${keyLabel(k)}`}>
                                Delete
                              </button>
                            )}
                          </td>
                        ) : null}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </Loadable>
        {keys.data && keys.data.data.length > 0 ? (
          <div>
            <div className="nav-section" style={{ padding: 0, marginBottom: 8 }}>Key budgets</div>
            <KeyBudgets tenantId={tenant.id} keys={keys.data.data} />
          </div>
        ) : null}
      </div>
    </Card>
  );
}
