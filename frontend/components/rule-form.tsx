"use client";

import { useState, type FormEvent } from "react";
import { useApi } from "@/lib/use-api";
import type { OnTransient, Page, Provider, Rule, RuleCapability, RuleWrite, StreamRescue, Tenant } from "@/lib/api/types";
import { numberOrNull, numberText, paramIn } from "@/lib/forms";
import { Alert, CheckboxField, NO_ERRORS, SelectField, TextField, formErrorsFrom, type FormErrors } from "./ui";
import { FormStatus, IDLE, useUnsavedChangesGuard, type SaveState } from "./form-status";

interface TargetDraft {
  provider: string;
  model: string;
  weight: string;
  tier: string;
}

interface Draft {
  name: string;
  model_pattern: string;
  capability: RuleCapability;
  tenant_id: string;
  hedge_delay_ms: string;
  balancing: "weighted" | "latency";
  stream_rescue: StreamRescue;
  on_transient: OnTransient;
  enabled: boolean;
  targets: TargetDraft[];
}

function draftOf(rule: Rule | undefined): Draft {
  return {
    name: rule?.name ?? "",
    model_pattern: rule?.model_pattern ?? "",
    capability: rule?.capability ?? "text",
    tenant_id: rule?.tenant_id ? String(rule.tenant_id) : "",
    hedge_delay_ms: rule?.hedge_delay_ms === "auto" ? "auto" : numberText(rule?.hedge_delay_ms),
    balancing: rule?.balancing ?? "weighted",
    stream_rescue: rule?.stream_rescue ?? "error",
    on_transient: rule?.on_transient ?? "retry_same",
    enabled: rule?.enabled ?? true,
    targets: (rule?.targets ?? [{ provider: "", model: "", weight: 1, tier: 0 }]).map((t) => ({
      provider: t.provider,
      model: t.model ?? "",
      weight: String(t.weight ?? 1),
      tier: String(t.tier ?? 0),
    })),
  };
}

export function tierName(tier: number): string {
  if (tier === 0) return "primary";
  if (tier === 1) return "secondary";
  if (tier === 2) return "tertiary";
  return `tier ${tier}`;
}

const FIELDS = ["name", "model_pattern", "capability", "tenant_id", "hedge_delay_ms", "balancing", "stream_rescue", "on_transient", "enabled", "targets"];

export function RuleForm({ rule, readOnly, onSubmit, submitLabel }: {
  rule?: Rule;
  readOnly: boolean;
  onSubmit: (body: RuleWrite) => Promise<void>;
  submitLabel: string;
}) {
  const providers = useApi<Page<Provider>>("/providers", { limit: 200 });
  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  const [draft, setDraft] = useState<Draft>(() => draftOf(rule));
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<SaveState>(IDLE);
  const [dirty, setDirty] = useState(false);
  useUnsavedChangesGuard(dirty && !readOnly);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    setDirty(true);
  };
  const setTarget = (index: number, patch: Partial<TargetDraft>) => set("targets", draft.targets.map((t, i) => (i === index ? { ...t, ...patch } : t)));
  const err = (param: string) => errors.fields[param];
  const targetErr = (index: number, field: string) => errors.fields[`targets[${index}].${field}`] ?? (field === "provider" ? errors.fields[`targets[${index}]`] : undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: RuleWrite = {
      name: draft.name.trim(),
      model_pattern: draft.model_pattern.trim(),
      capability: draft.capability,
      tenant_id: draft.tenant_id ? Number(draft.tenant_id) : null,
      hedge_delay_ms: draft.hedge_delay_ms.trim().toLowerCase() === "auto" ? "auto" : numberOrNull(draft.hedge_delay_ms),
      balancing: draft.balancing,
      stream_rescue: draft.stream_rescue,
      on_transient: draft.on_transient,
      enabled: draft.enabled,
      targets: draft.targets.map((t) => ({
        provider: t.provider,
        model: t.model.trim() || null,
        weight: numberOrNull(t.weight) ?? 1,
        tier: numberOrNull(t.tier) ?? 0,
      })),
    };
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await onSubmit(body);
      setDirty(false);
      setStatus(rule ? { kind: "saved", text: "Saved. The gateway routes by it within two seconds." } : IDLE);
    } catch (e) {
      const mapped = formErrorsFrom(e, paramIn(FIELDS));
      setErrors(mapped);
      setStatus({ kind: "error", text: mapped.form ?? "Not saved: check the fields marked above." });
    } finally {
      setBusy(false);
    }
  };

  const providerNames = (providers.data?.data ?? []).map((p) => p.name);
  const capable = new Map((providers.data?.data ?? []).map((p) => [p.name, p.capabilities.includes(draft.capability)]));
  const nextTier = draft.targets.length ? Math.max(...draft.targets.map((t) => Number(t.tier) || 0)) + 1 : 0;

  return (
    <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label={rule ? "Routing rule" : "New routing rule"}>
      {providers.error ? <Alert tone="warning">Providers could not be loaded: {providers.error.message}</Alert> : null}
      <fieldset disabled={readOnly || busy} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }} className="form">
        <div className="form-grid">
          <TextField label="Name" value={draft.name} onChange={(e) => set("name", e.target.value)} error={err("name")} required />
          <TextField
            label="Model pattern"
            value={draft.model_pattern}
            onChange={(e) => set("model_pattern", e.target.value)}
            error={err("model_pattern")}
            hint="An exact model name or a glob such as gpt-4.1-*."
            required
          />
          <SelectField label="Capability" value={draft.capability} onChange={(e) => set("capability", e.target.value as RuleCapability)} error={err("capability")} hint="Vision rules serve requests that carry images; embeddings rules serve /v1/embeddings.">
            <option value="text">text</option>
            <option value="vision">vision</option>
            <option value="embeddings">embeddings</option>
          </SelectField>
          <SelectField label="Tenant scope" value={draft.tenant_id} onChange={(e) => set("tenant_id", e.target.value)} error={err("tenant_id")} hint="A tenant-scoped rule overrides the global ones for that tenant.">
            <option value="">All tenants (global)</option>
            {(tenants.data?.data ?? []).map((t) => (
              <option key={t.id} value={String(t.id)}>
                {t.name}
              </option>
            ))}
            {draft.tenant_id && !(tenants.data?.data ?? []).some((t) => String(t.id) === draft.tenant_id) ? <option value={draft.tenant_id}>Tenant {draft.tenant_id}</option> : null}
          </SelectField>
          <TextField
            label="Hedging delay (ms)"
            inputMode="numeric"
            value={draft.hedge_delay_ms}
            onChange={(e) => set("hedge_delay_ms", e.target.value)}
            error={err("hedge_delay_ms")}
            hint="Empty: no hedging. A number: the next target is also tried when the first has not answered after this long. auto: the first target's measured p95."
            placeholder="off"
          />
          <SelectField label="Balancing in a tier" value={draft.balancing} onChange={(e) => set("balancing", e.target.value as Draft["balancing"])} error={err("balancing")}>
            <option value="weighted">Weighted shuffle</option>
            <option value="latency">Fastest measured first</option>
          </SelectField>
          <SelectField label="Transient failures" value={draft.on_transient} onChange={(e) => set("on_transient", e.target.value as OnTransient)} error={err("on_transient")} hint="A 5xx, or a 429 with a short Retry-After: one more try at the same target first, or the next target at once.">
            <option value="retry_same">Retry the same target once</option>
            <option value="fail_over">Fail over at once</option>
          </SelectField>
          <SelectField label="Stream cut mid-answer" value={draft.stream_rescue} onChange={(e) => set("stream_rescue", e.target.value as StreamRescue)} error={err("stream_rescue")} hint="Continue: the next target that accepts a prefill continues the same answer in the same stream.">
            <option value="error">End with an error event</option>
            <option value="continue">Continue on the next target</option>
          </SelectField>
          <div className="field" style={{ justifyContent: "center" }}>
            <CheckboxField label="Enabled" checked={draft.enabled} onChange={(v) => set("enabled", v)} error={err("enabled")} />
          </div>
        </div>

        <fieldset className="group">
          <legend>Targets</legend>
          <p className="field-hint">
            Tier 0 is the primary, tier 1 the secondary, and so on; within a tier, traffic is split by weight. A target is skipped while its breaker is open.
          </p>
          {err("targets") ? <p className="field-error">{err("targets")}</p> : null}
          {draft.targets.map((target, index) => {
            const n = index + 1;
            const incapable = target.provider && capable.get(target.provider) === false;
            return (
              <div className="target-row" key={index} data-target={index}>
                <SelectField
                  label={`Target ${n} provider`}
                  value={target.provider}
                  onChange={(e) => setTarget(index, { provider: e.target.value })}
                  error={targetErr(index, "provider") ?? (incapable ? `Lacks the ${draft.capability} capability.` : undefined)}
                >
                  <option value="">Choose a provider…</option>
                  {providerNames.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                  {target.provider && !providerNames.includes(target.provider) ? <option value={target.provider}>{target.provider}</option> : null}
                </SelectField>
                <TextField label={`Target ${n} model`} value={target.model} onChange={(e) => setTarget(index, { model: e.target.value })} error={targetErr(index, "model")} placeholder="same as requested" />
                <TextField label={`Target ${n} weight`} type="number" min="1" value={target.weight} onChange={(e) => setTarget(index, { weight: e.target.value })} error={targetErr(index, "weight")} />
                <TextField
                  label={`Target ${n} tier`}
                  type="number"
                  min="0"
                  value={target.tier}
                  onChange={(e) => setTarget(index, { tier: e.target.value })}
                  error={targetErr(index, "tier")}
                  hint={tierName(Number(target.tier) || 0)}
                />
                {!readOnly ? (
                  <button type="button" className="btn btn-small btn-danger row-action" disabled={draft.targets.length <= 1} onClick={() => set("targets", draft.targets.filter((_, i) => i !== index))} aria-label={`Remove target ${n}`}>
                    Remove
                  </button>
                ) : (
                  <span />
                )}
              </div>
            );
          })}
          {!readOnly ? (
            <div className="inline" style={{ marginTop: 8 }}>
              <button type="button" className="btn btn-small" onClick={() => set("targets", [...draft.targets, { provider: "", model: "", weight: "1", tier: String(nextTier) }])}>
                Add fallback target
              </button>
            </div>
          ) : null}
        </fieldset>
      </fieldset>
      {!readOnly ? (
        <div className="form-actions">
          <FormStatus state={status} />
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving…" : submitLabel}
          </button>
        </div>
      ) : null}
    </form>
  );
}
