"use client";

import { useState, type FormEvent } from "react";
import type { BreakerSettings, Capability, Provider, ProviderPreset, ProviderSettings, ProviderType, ProviderWrite, TimeoutSettings } from "@/lib/api/types";
import { CAPABILITIES, PROVIDER_TYPES } from "@/lib/api/types";
import { compact, numberOrNull, numberText, paramIn } from "@/lib/forms";
import { ProviderPresetPicker } from "./provider-preset-picker";
import { CheckboxField, NO_ERRORS, SelectField, TextField, formErrorsFrom, type FormErrors } from "./ui";
import { FormStatus, IDLE, useUnsavedChangesGuard, type SaveState } from "./form-status";

const TYPE_LABELS: Record<ProviderType, string> = {
  mock: "Mock (deterministic, no network)",
  openai: "OpenAI",
  openai_compatible: "OpenAI-compatible",
  azure: "Azure OpenAI",
  anthropic: "Anthropic",
  gemini: "Google Gemini",
  bedrock: "AWS Bedrock",
  vertex: "Google Vertex AI",
};

const TIMEOUT_FIELDS: { key: keyof TimeoutSettings; label: string; hint: string }[] = [
  { key: "connect_s", label: "Connect timeout (s)", hint: "Opening the connection." },
  { key: "first_token_s", label: "First token timeout (s)", hint: "Until the first byte or chunk." },
  { key: "idle_s", label: "Idle timeout (s)", hint: "Between two stream chunks." },
  { key: "total_s", label: "Total timeout (s)", hint: "The whole answer." },
];

export const BREAKER_FIELDS: { key: keyof BreakerSettings; label: string; hint: string; step?: string }[] = [
  { key: "window_s", label: "Window (s)", hint: "Sliding window for the error rate." },
  { key: "min_calls", label: "Minimum calls", hint: "Calls in the window before the rate counts." },
  { key: "failure_rate", label: "Failure rate (0–1)", hint: "Opens at or above this share.", step: "0.05" },
  { key: "consecutive_failures", label: "Consecutive failures", hint: "Opens after this many in a row." },
  { key: "open_s", label: "Open for (s)", hint: "First cool-down; doubles on reopen." },
  { key: "max_open_s", label: "Longest open (s)", hint: "Cap of the cool-down." },
  { key: "half_open_probes", label: "Half-open probes", hint: "Trial calls before closing again." },
  { key: "jitter", label: "Jitter (0–1)", hint: "Random spread of the cool-down.", step: "0.05" },
  { key: "max_retry_after_s", label: "Longest Retry-After (s)", hint: "Cap on an upstream's Retry-After." },
];

interface MapRow {
  from: string;
  to: string;
}

interface Draft {
  name: string;
  type: ProviderType;
  base_url: string;
  api_version: string;
  stream_include_usage: boolean;
  assistant_prefill: "" | "true" | "false";
  enabled: boolean;
  capabilities: Capability[];
  model_map: MapRow[];
  timeouts: Record<string, string>;
  breaker: Record<string, string>;
  secret: string;
  secret_env: string;
  preset: string;
  region: string;
  project: string;
  location: string;
}

function draftOf(provider: Provider | undefined): Draft {
  const settings = provider?.settings ?? {};
  const timeouts: Record<string, string> = {};
  for (const field of TIMEOUT_FIELDS) timeouts[field.key] = numberText(settings.timeouts?.[field.key]);
  const breaker: Record<string, string> = {};
  for (const field of BREAKER_FIELDS) breaker[field.key] = numberText(settings.breaker?.[field.key]);
  return {
    name: provider?.name ?? "",
    type: provider?.type ?? "mock",
    base_url: provider?.base_url ?? "",
    api_version: settings.api_version ?? "",
    stream_include_usage: settings.stream_include_usage ?? true,
    assistant_prefill: settings.assistant_prefill === true ? "true" : settings.assistant_prefill === false ? "false" : "",
    enabled: provider?.enabled ?? true,
    capabilities: provider?.capabilities ?? ["text"],
    model_map: Object.entries(provider?.model_map ?? {}).map(([from, to]) => ({ from, to })),
    timeouts,
    breaker,
    secret: "",
    secret_env: "",
    preset: settings.preset ?? "",
    region: settings.region ?? "",
    project: settings.project ?? "",
    location: settings.location ?? "",
  };
}

const OPENAI_FAMILY: ProviderType[] = ["openai", "azure", "openai_compatible"];

const SECRET_HINTS: Partial<Record<ProviderType, string>> = {
  bedrock: 'JSON {"access_key_id": …, "secret_access_key": …}; leave both empty for the standard AWS credential chain.',
  vertex: "A service-account JSON key, best through an environment variable; leave both empty for Application Default Credentials.",
};

function settingsOf(draft: Draft, base: ProviderSettings): ProviderSettings {
  const timeouts: Record<string, number | null> = {};
  for (const field of TIMEOUT_FIELDS) timeouts[field.key] = numberOrNull(draft.timeouts[field.key] ?? "");
  const breaker: Record<string, number | null> = {};
  for (const field of BREAKER_FIELDS) breaker[field.key] = numberOrNull(draft.breaker[field.key] ?? "");
  const settings: ProviderSettings = { ...base };
  settings.timeouts = compact(timeouts) ?? null;
  settings.breaker = compact(breaker) ?? null;
  settings.api_version = draft.type === "azure" && draft.api_version.trim() ? draft.api_version.trim() : null;
  settings.stream_include_usage = OPENAI_FAMILY.includes(draft.type) && !draft.stream_include_usage ? false : null;
  settings.assistant_prefill = draft.assistant_prefill === "" ? null : draft.assistant_prefill === "true";
  settings.preset = draft.type === "openai_compatible" && draft.preset ? draft.preset : null;
  settings.region = draft.type === "bedrock" && draft.region.trim() ? draft.region.trim() : null;
  settings.project = draft.type === "vertex" && draft.project.trim() ? draft.project.trim() : null;
  settings.location = draft.type === "vertex" && draft.location.trim() ? draft.location.trim() : null;
  const out: ProviderSettings = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value !== null && value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

const FIELD_NAMES = ["name", "type", "base_url", "enabled", "capabilities", "model_map", "settings", "secret", "secret_env"];

/** Create or edit a provider's configuration (the secret and fault knobs of an existing one have their own cards). */
export function ProviderForm({ provider, readOnly, onSubmit, submitLabel }: {
  provider?: Provider;
  readOnly: boolean;
  onSubmit: (body: ProviderWrite) => Promise<void>;
  submitLabel: string;
}) {
  const creating = provider === undefined;
  const [draft, setDraft] = useState<Draft>(() => draftOf(provider));
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<SaveState>(IDLE);
  const [dirty, setDirty] = useState(false);
  useUnsavedChangesGuard(dirty && !readOnly);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    setDirty(true);
  };
  const err = (param: string) => errors.fields[param];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const modelMap: Record<string, string> = {};
    for (const row of draft.model_map) if (row.from.trim()) modelMap[row.from.trim()] = row.to.trim();
    const body: ProviderWrite = {
      name: draft.name.trim(),
      type: draft.type,
      base_url: draft.base_url.trim(),
      enabled: draft.enabled,
      capabilities: draft.capabilities,
      model_map: modelMap,
      settings: settingsOf(draft, provider?.settings ?? {}),
    };
    if (creating) {
      if (draft.secret) body.secret = draft.secret;
      if (draft.secret_env.trim()) body.secret_env = draft.secret_env.trim();
    }
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await onSubmit(body);
      setDirty(false);
      setStatus(!creating ? { kind: "saved", text: "Saved. The gateway picks the change up within two seconds." } : IDLE);
    } catch (e) {
      const mapped = formErrorsFrom(e, paramIn(FIELD_NAMES));
      setErrors(mapped);
      setStatus({ kind: "error", text: mapped.form ?? "Not saved: check the fields marked above." });
    } finally {
      setBusy(false);
    }
  };

  const pickPreset = (preset: ProviderPreset | null) => {
    if (preset === null) return set("preset", "");
    setDraft((d) => ({
      ...d,
      preset: preset.name,
      type: preset.type,
      base_url: preset.base_url,
      capabilities: preset.capabilities,
      stream_include_usage: preset.stream_include_usage,
      name: d.name || preset.name,
    }));
    setDirty(true);
  };

  const toggleCapability = (cap: Capability, on: boolean) => {
    set("capabilities", on ? [...draft.capabilities, cap].filter((c, i, all) => all.indexOf(c) === i) : draft.capabilities.filter((c) => c !== cap));
  };

  return (
    <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label={creating ? "New provider" : "Provider settings"}>
      <fieldset disabled={readOnly || busy} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }} className="form">
        {creating ? <ProviderPresetPicker value={draft.preset} onPick={pickPreset} /> : null}
        <div className="form-grid">
          <TextField label="Name" value={draft.name} onChange={(e) => set("name", e.target.value)} error={err("name")} hint="Letters, digits, dot, dash, underscore. Rules refer to it." required />
          <SelectField label="Type" value={draft.type} onChange={(e) => set("type", e.target.value as ProviderType)} error={err("type")}>
            {PROVIDER_TYPES.map((t) => (
              <option key={t} value={t}>
                {TYPE_LABELS[t]}
              </option>
            ))}
          </SelectField>
          <TextField
            label="Base URL"
            value={draft.base_url}
            onChange={(e) => set("base_url", e.target.value)}
            error={err("base_url")}
            placeholder={draft.type === "mock" ? "not used by the mock" : "https://…"}
            hint={draft.type === "azure" || draft.type === "openai_compatible" ? "Required for this type." : "Leave empty for the type's default endpoint."}
          />
          {draft.type === "azure" ? (
            <TextField label="API version" value={draft.api_version} onChange={(e) => set("api_version", e.target.value)} error={err("settings.api_version")} placeholder="2024-10-21" />
          ) : null}
          {draft.type === "bedrock" ? (
            <TextField label="AWS region" value={draft.region} onChange={(e) => set("region", e.target.value)} error={err("settings.region")} placeholder="us-east-1" required />
          ) : null}
          {draft.type === "vertex" ? (
            <>
              <TextField label="Google Cloud project" value={draft.project} onChange={(e) => set("project", e.target.value)} error={err("settings.project")} required />
              <TextField label="Location" value={draft.location} onChange={(e) => set("location", e.target.value)} error={err("settings.location")} placeholder="us-central1" required />
            </>
          ) : null}
        </div>
        {OPENAI_FAMILY.includes(draft.type) ? (
          <CheckboxField
            label="Ask for usage in streams"
            checked={draft.stream_include_usage}
            onChange={(v) => set("stream_include_usage", v)}
            error={err("settings.stream_include_usage")}
            hint="Sends stream_options.include_usage upstream; turn off for servers that reject it (their streams are then logged without token counts)."
          />
        ) : null}
        <SelectField
          label="Continues an answer (mid-stream rescue)"
          value={draft.assistant_prefill}
          onChange={(e) => set("assistant_prefill", e.target.value as Draft["assistant_prefill"])}
          error={err("settings.assistant_prefill")}
          hint="Whether this upstream continues a trailing assistant message, so that a rule with stream rescue can ask it to finish a cut stream."
        >
          <option value="">the type's default (Anthropic and OpenAI-compatible: yes)</option>
          <option value="true">yes</option>
          <option value="false">no</option>
        </SelectField>
        <CheckboxField label="Enabled" checked={draft.enabled} onChange={(v) => set("enabled", v)} error={err("enabled")} hint="A disabled provider is never called." />

        <fieldset className="group">
          <legend>Capabilities</legend>
          <div className="checks">
            {CAPABILITIES.map((cap) => (
              <CheckboxField key={cap} label={cap} checked={draft.capabilities.includes(cap)} onChange={(on) => toggleCapability(cap, on)} />
            ))}
          </div>
          {err("capabilities") ? <p className="field-error">{err("capabilities")}</p> : null}
        </fieldset>

        <fieldset className="group">
          <legend>Model map</legend>
          <p className="field-hint" style={{ marginBottom: 10 }}>
            Requested model on the left, the name this provider knows it by on the right. Unmapped models pass through unchanged.
          </p>
          {draft.model_map.map((row, index) => (
            <div className="map-row" key={index}>
              <TextField label={`Requested model ${index + 1}`} value={row.from} onChange={(e) => set("model_map", draft.model_map.map((r, i) => (i === index ? { ...r, from: e.target.value } : r)))} />
              <TextField label={`Upstream model ${index + 1}`} value={row.to} onChange={(e) => set("model_map", draft.model_map.map((r, i) => (i === index ? { ...r, to: e.target.value } : r)))} />
              {!readOnly ? (
                <button type="button" className="btn btn-small btn-danger row-action" onClick={() => set("model_map", draft.model_map.filter((_, i) => i !== index))} aria-label={`Remove mapping ${index + 1}`}>
                  Remove
                </button>
              ) : (
                <span />
              )}
            </div>
          ))}
          {draft.model_map.length === 0 ? <p className="muted" style={{ margin: "0 0 8px" }}>No mappings.</p> : null}
          {err("model_map") ? <p className="field-error">{err("model_map")}</p> : null}
          {!readOnly ? (
            <button type="button" className="btn btn-small" onClick={() => set("model_map", [...draft.model_map, { from: "", to: "" }])}>
              Add mapping
            </button>
          ) : null}
        </fieldset>

        <fieldset className="group">
          <legend>Timeouts</legend>
          <div className="form-grid-4">
            {TIMEOUT_FIELDS.map((f) => (
              <TextField
                key={f.key}
                type="number"
                min="0"
                step="any"
                label={f.label}
                hint={f.hint}
                placeholder="default"
                value={draft.timeouts[f.key] ?? ""}
                onChange={(e) => set("timeouts", { ...draft.timeouts, [f.key]: e.target.value })}
                error={err(`settings.timeouts.${f.key}`)}
              />
            ))}
          </div>
        </fieldset>

        <fieldset className="group">
          <legend>Circuit breaker</legend>
          <div className="form-grid-4">
            {BREAKER_FIELDS.map((f) => (
              <TextField
                key={f.key}
                type="number"
                min="0"
                step={f.step ?? "any"}
                label={f.label}
                hint={f.hint}
                placeholder="default"
                value={draft.breaker[f.key] ?? ""}
                onChange={(e) => set("breaker", { ...draft.breaker, [f.key]: e.target.value })}
                error={err(`settings.breaker.${f.key}`)}
              />
            ))}
          </div>
        </fieldset>
        {err("settings") ? <p className="field-error">{err("settings")}</p> : null}

        {creating ? (
          <fieldset className="group">
            <legend>Secret</legend>
            <p className="field-hint" style={{ marginBottom: 10 }}>
              Write-only: stored encrypted and never shown again. Or name an environment variable the gateway reads. Not needed for the mock.
            </p>
            <div className="form-grid">
              <TextField label="API key" type="password" autoComplete="new-password" value={draft.secret} onChange={(e) => set("secret", e.target.value)} error={err("secret")} hint={SECRET_HINTS[draft.type]} />
              <TextField label="Or environment variable" value={draft.secret_env} onChange={(e) => set("secret_env", e.target.value)} error={err("secret_env")} placeholder="ROUTERX_PROVIDER_OPENAI_KEY" hint="A variable starting with ROUTERX_PROVIDER_, set where the gateway runs." />
            </div>
          </fieldset>
        ) : null}
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
