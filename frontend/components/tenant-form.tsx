"use client";

import { useState, type FormEvent } from "react";
import type { Tenant, TenantWrite } from "@/lib/api/types";
import { listFromText, numberOrNull, numberText, paramIn } from "@/lib/forms";
import { NO_ERRORS, SelectField, TextAreaField, TextField, formErrorsFrom, type FormErrors } from "./ui";
import { FormStatus, IDLE, useUnsavedChangesGuard, type SaveState } from "./form-status";

export function TenantForm({ tenant, readOnly, onSubmit, submitLabel }: {
  tenant?: Tenant;
  readOnly: boolean;
  onSubmit: (body: TenantWrite) => Promise<void>;
  submitLabel: string;
}) {
  const [name, setName] = useState(tenant?.name ?? "");
  const [status, setStatus] = useState<"active" | "disabled">(tenant?.status ?? "active");
  const [rpm, setRpm] = useState(numberText(tenant?.rpm_limit));
  const [tpm, setTpm] = useState(numberText(tenant?.tpm_limit));
  const [concurrency, setConcurrency] = useState(numberText(tenant?.max_concurrency));
  const [models, setModels] = useState((tenant?.allowed_models ?? []).join("\n"));
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [saveState, setSaveState] = useState<SaveState>(IDLE);
  const current = JSON.stringify([name, status, rpm, tpm, concurrency, models]);
  const [savedAs, setSavedAs] = useState(current);
  const dirty = current !== savedAs;
  useUnsavedChangesGuard(dirty && !readOnly && tenant !== undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    setSaveState(IDLE);
    try {
      await onSubmit({ name: name.trim(), status, rpm_limit: numberOrNull(rpm), tpm_limit: numberOrNull(tpm), max_concurrency: numberOrNull(concurrency), allowed_models: listFromText(models) });
      setSavedAs(current);
      setSaveState(tenant ? { kind: "saved", text: "Saved." } : IDLE);
    } catch (err) {
      const mapped = formErrorsFrom(err, paramIn(["name", "status", "rpm_limit", "tpm_limit", "max_concurrency", "allowed_models"]));
      setErrors(mapped);
      setSaveState({ kind: "error", text: mapped.form ?? "Not saved: check the fields marked above." });
    } finally {
      setBusy(false);
    }
  };
  const modelsError = Object.entries(errors.fields).find(([k]) => k.startsWith("allowed_models"))?.[1];

  return (
    <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label={tenant ? "Tenant settings" : "New tenant"}>
      <fieldset disabled={readOnly || busy} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }} className="form">
        <div className="form-grid">
          <TextField label="Tenant name" value={name} onChange={(e) => setName(e.target.value)} error={errors.fields.name} required />
          <SelectField label="Status" value={status} onChange={(e) => setStatus(e.target.value as "active" | "disabled")} error={errors.fields.status} hint="A disabled tenant's keys are refused.">
            <option value="active">active</option>
            <option value="disabled">disabled</option>
          </SelectField>
          <TextField label="Requests per minute (RPM)" type="number" min="1" value={rpm} onChange={(e) => setRpm(e.target.value)} error={errors.fields.rpm_limit} placeholder="unlimited" />
          <TextField label="Tokens per minute (TPM)" type="number" min="1" value={tpm} onChange={(e) => setTpm(e.target.value)} error={errors.fields.tpm_limit} placeholder="unlimited" />
          <TextField label="Max concurrent requests" type="number" min="1" value={concurrency} onChange={(e) => setConcurrency(e.target.value)} error={errors.fields.max_concurrency} placeholder="unlimited" hint="Requests in flight at once, per gateway process." />
          <TextAreaField
            fieldClassName="span-2"
            label="Allowed models"
            value={models}
            onChange={(e) => setModels(e.target.value)}
            error={modelsError}
            hint="One model or glob per line (e.g. gpt-4.1-*). Empty: every routed model."
            rows={3}
          />
        </div>
      </fieldset>
      {!readOnly ? (
        <div className="form-actions">
          <FormStatus state={saveState} />
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            {busy ? "Saving…" : submitLabel}
          </button>
        </div>
      ) : null}
    </form>
  );
}
