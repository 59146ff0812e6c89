"use client";

import { useState, type FormEvent } from "react";
import { api } from "@/lib/api/client";
import type { MockFaultSettings, Provider } from "@/lib/api/types";
import { compact, numberOrNull, numberText, paramIn } from "@/lib/forms";
import { Alert, Card, CheckboxField, NO_ERRORS, Pill, TextField, formErrorsFrom, type FormErrors } from "./ui";

type Mode = "secret" | "env";

/** Set, replace or remove a provider's secret. The secret itself is never shown. */
export function SecretCard({ provider, readOnly, onSaved }: { provider: Provider; readOnly: boolean; onSaved: () => void }) {
  const [mode, setMode] = useState<Mode>(provider.secret_env ? "env" : "secret");
  const [secret, setSecret] = useState("");
  const [env, setEnv] = useState(provider.secret_env ?? "");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const send = async (body: { secret?: string | null; secret_env?: string | null }, message: string) => {
    setBusy(true);
    setErrors(NO_ERRORS);
    setDone(null);
    try {
      await api.patch<Provider>(`/providers/${provider.id}`, body);
      setSecret("");
      setDone(message);
      onSaved();
    } catch (err) {
      setErrors(formErrorsFrom(err, paramIn(["secret", "secret_env"])));
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (mode === "secret") void send({ secret, secret_env: null }, "Secret stored. It will not be shown again.");
    else void send({ secret: null, secret_env: env.trim() }, "The gateway now reads the secret from the environment.");
  };

  const status = provider.secret_set ? (
    <Pill tone="blue">{provider.secret_env ? `set (from $${provider.secret_env})` : "set"}</Pill>
  ) : (
    <Pill tone="gray">not set</Pill>
  );

  return (
    <Card title="Secret" description="Write-only: a stored secret is encrypted at rest and never sent back." actions={<span aria-label="Secret status">{status}</span>}>
      {readOnly ? (
        <p className="muted" style={{ margin: 0 }}>
          Secret is {provider.secret_set ? "set" : "not set"}.
        </p>
      ) : (
        <form className="form" noValidate onSubmit={submit} aria-label="Provider secret">
          {errors.form ? <Alert tone="error" title="Not saved">{errors.form}</Alert> : null}
          {done ? <Alert tone="success">{done}</Alert> : null}
          <div className="segmented" role="group" aria-label="Secret source" style={{ alignSelf: "flex-start" }}>
            <button type="button" aria-pressed={mode === "secret"} onClick={() => setMode("secret")}>
              Store a secret
            </button>
            <button type="button" aria-pressed={mode === "env"} onClick={() => setMode("env")}>
              Environment variable
            </button>
          </div>
          {mode === "secret" ? (
            <TextField
              label={provider.secret_set ? "New secret (replaces the current one)" : "Secret"}
              type="password"
              autoComplete="new-password"
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
              error={errors.fields.secret}
            />
          ) : (
            <TextField label="Environment variable name" value={env} onChange={(e) => setEnv(e.target.value)} error={errors.fields.secret_env} placeholder="OPENAI_API_KEY" />
          )}
          <div className="form-actions">
            {provider.secret_set ? (
              <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void send({ secret: null, secret_env: null }, "Secret removed.")}>
                Remove secret
              </button>
            ) : null}
            <button type="submit" className="btn btn-primary" disabled={busy || (mode === "secret" ? !secret : !env.trim())}>
              {mode === "secret" ? (provider.secret_set ? "Replace secret" : "Set secret") : "Use variable"}
            </button>
          </div>
        </form>
      )}
    </Card>
  );
}

const FAULT_FIELDS: { key: keyof MockFaultSettings; label: string; hint: string; step?: string }[] = [
  { key: "latency_ms", label: "Added latency (ms)", hint: "Delay before every answer." },
  { key: "error_status", label: "Error status", hint: "e.g. 500, 503, 429 — answer with it." },
  { key: "failure_rate", label: "Failure rate (0–1)", hint: "Share of calls that fail; empty = all when a status is set.", step: "0.05" },
  { key: "retry_after_s", label: "Retry-After (s)", hint: "Sent with the error status." },
  { key: "stream_error_after_chunks", label: "Break stream after chunks", hint: "Streams fail after this many chunks." },
  { key: "chunk_delay_ms", label: "Chunk delay (ms)", hint: "Pause between stream chunks." },
];

function faultDraft(mock: MockFaultSettings | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of FAULT_FIELDS) out[f.key] = numberText(mock?.[f.key] as number | null | undefined);
  return out;
}

/** The mock provider's fault knobs, to rehearse a failover. */
export function FaultsCard({ provider, readOnly, onSaved }: { provider: Provider; readOnly: boolean; onSaved: () => void }) {
  const [values, setValues] = useState<Record<string, string>>(() => faultDraft(provider.settings.mock));
  const [hang, setHang] = useState<boolean>(Boolean(provider.settings.mock?.hang));
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const active = compact({ ...provider.settings.mock }) !== undefined;

  const save = async (mock: MockFaultSettings | null, message: string) => {
    setBusy(true);
    setErrors(NO_ERRORS);
    setDone(null);
    const settings = { ...provider.settings };
    if (mock) settings.mock = mock;
    else delete settings.mock;
    try {
      await api.patch<Provider>(`/providers/${provider.id}`, { settings });
      setDone(message);
      onSaved();
    } catch (err) {
      setErrors(formErrorsFrom(err, paramIn(["settings.mock"])));
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const mock: Record<string, number | boolean | null> = {};
    for (const f of FAULT_FIELDS) mock[f.key] = numberOrNull(values[f.key] ?? "");
    if (hang) mock.hang = true;
    void save((compact(mock) as MockFaultSettings | undefined) ?? null, "Faults applied. The gateway uses them within two seconds.");
  };
  const clear = () => {
    setValues(faultDraft(null));
    setHang(false);
    void save(null, "Faults cleared: the mock answers normally again.");
  };

  return (
    <Card
      title="Fault injection"
      description="Make this mock provider slow or failing to rehearse a failover. Clear the faults when done."
      actions={active ? <Pill tone="amber">Faults active</Pill> : <Pill tone="gray">No faults</Pill>}
    >
      <form className="form" noValidate onSubmit={submit} aria-label="Fault injection">
        {errors.form ? <Alert tone="error" title="Not applied">{errors.form}</Alert> : null}
        {done ? <Alert tone="success">{done}</Alert> : null}
        <fieldset disabled={readOnly || busy} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }} className="form">
          <div className="form-grid-3">
            {FAULT_FIELDS.map((f) => (
              <TextField
                key={f.key}
                type="number"
                min="0"
                step={f.step ?? "any"}
                label={f.label}
                hint={f.hint}
                value={values[f.key] ?? ""}
                onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
                error={errors.fields[`settings.mock.${f.key}`]}
              />
            ))}
          </div>
          <CheckboxField label="Hang (never answer; the gateway's timeouts end the call)" checked={hang} onChange={setHang} error={errors.fields["settings.mock.hang"]} />
          {errors.fields["settings.mock"] ? <p className="field-error">{errors.fields["settings.mock"]}</p> : null}
        </fieldset>
        {!readOnly ? (
          <div className="form-actions">
            <button type="button" className="btn" disabled={busy || !active} onClick={clear}>
              Clear faults
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              Apply faults
            </button>
          </div>
        ) : null}
      </form>
    </Card>
  );
}
