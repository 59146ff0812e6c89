"use client";

import { useState, type FormEvent } from "react";
import { ApiError, api } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { useCanWrite } from "@/lib/session";
import type { Budget, BudgetPeriod, BudgetWrite } from "@/lib/api/spend-types";
import { Alert, NO_ERRORS, SelectField, TextField, formErrorsFrom, type FormErrors } from "./ui";
import { formatUsd } from "@/lib/money";
import { formatDateTime } from "@/lib/format";
import { listFromText, paramIn } from "@/lib/forms";

const PERIOD_LABEL: Record<BudgetPeriod, string> = { day: "per day", week: "per week", month: "per month", lifetime: "lifetime" };

/** Spend against the amount: blue, amber past the first threshold, red once reached. */
export function BudgetBar({ budget }: { budget: Budget }) {
  const percent = Math.min(100, budget.percent);
  const warn = budget.thresholds.filter((t) => t < 100);
  const state = budget.exhausted || budget.percent >= 100 ? "reached" : warn.length && budget.percent >= Math.min(...warn) ? "warning" : "ok";
  return (
    <div className="budget" data-state={state}>
      <div className="budget-head">
        <span className="strong">
          {formatUsd(budget.spent_usd)} of {formatUsd(budget.amount_usd)} {PERIOD_LABEL[budget.period]}
        </span>
        <span className="muted">
          {state === "reached" ? (budget.action === "refuse" ? "reached: requests refused" : `reached: downgraded to ${budget.downgrade_model}`) : `${budget.percent.toFixed(1)} %`}
        </span>
      </div>
      <div className="budget-track" role="progressbar" aria-label={`Budget used (${budget.scope})`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(percent)}>
        <div className="budget-fill" style={{ width: `${percent}%` }} />
        {budget.thresholds.filter((t) => t < 100).map((t) => (
          <span key={t} className="budget-mark" style={{ left: `${t}%` }} title={`alert at ${t} %`} />
        ))}
      </div>
      <div className="muted budget-foot">
        {budget.resets_at ? `resets ${formatDateTime(budget.resets_at)}` : "never resets"} · alerts at {budget.thresholds.join(", ")} %
      </div>
    </div>
  );
}

function BudgetForm({ path, budget, onSaved }: { path: string; budget: Budget | null; onSaved: () => void }) {
  const [amount, setAmount] = useState(budget?.amount_usd ?? "");
  const [period, setPeriod] = useState<BudgetPeriod>(budget?.period ?? "month");
  const [thresholds, setThresholds] = useState((budget?.thresholds ?? [50, 80, 100]).join(", "));
  const [action, setAction] = useState<"refuse" | "downgrade">(budget?.action ?? "refuse");
  const [downgrade, setDowngrade] = useState(budget?.downgrade_model ?? "");
  const [webhook, setWebhook] = useState(budget?.webhook_url ?? "");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    const body: BudgetWrite = {
      amount_usd: amount.trim(),
      period,
      thresholds: listFromText(thresholds).map(Number),
      action,
      downgrade_model: action === "downgrade" ? downgrade.trim() || null : null,
      webhook_url: webhook.trim() || null,
    };
    try {
      await api.put<Budget>(path, body);
      onSaved();
    } catch (err) {
      setErrors(formErrorsFrom(err, (p) => paramIn(["amount_usd", "period", "action", "downgrade_model", "webhook_url"])(p) || p.startsWith("thresholds")));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!window.confirm("Remove this budget? Spend stays recorded.")) return;
    await api.delete(path);
    onSaved();
  };
  const thresholdError = Object.entries(errors.fields).find(([k]) => k.startsWith("thresholds"))?.[1];
  return (
    <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label="Budget">
      {errors.form ? <Alert tone="error" title="Budget not saved">{errors.form}</Alert> : null}
      <div className="form-grid-3">
        <TextField label="Amount (USD)" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} error={errors.fields.amount_usd} placeholder="e.g. 25.00" />
        <SelectField label="Period (UTC)" value={period} onChange={(e) => setPeriod(e.target.value as BudgetPeriod)} error={errors.fields.period}>
          <option value="day">day</option>
          <option value="week">week</option>
          <option value="month">month</option>
          <option value="lifetime">lifetime</option>
        </SelectField>
        <TextField label="Alert thresholds (%)" value={thresholds} onChange={(e) => setThresholds(e.target.value)} error={thresholdError} hint="comma-separated, e.g. 50, 80, 100" />
        <SelectField label="When reached" value={action} onChange={(e) => setAction(e.target.value as "refuse" | "downgrade")} error={errors.fields.action}>
          <option value="refuse">refuse (429 insufficient_quota)</option>
          <option value="downgrade">downgrade to a cheaper model</option>
        </SelectField>
        {action === "downgrade" ? (
          <TextField label="Downgrade model" value={downgrade} onChange={(e) => setDowngrade(e.target.value)} error={errors.fields.downgrade_model} placeholder="a routed model, e.g. gpt-4.1-nano" />
        ) : null}
        <TextField label="Alert webhook URL" value={webhook} onChange={(e) => setWebhook(e.target.value)} error={errors.fields.webhook_url} placeholder="optional, https://…" />
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : budget ? "Save budget" : "Set budget"}
        </button>
        {budget ? (
          <button type="button" className="btn btn-danger" onClick={() => void remove()}>
            Remove budget
          </button>
        ) : null}
      </div>
    </form>
  );
}

/** A tenant's or key's budget: its bar for everyone, the editor for admins. */
export function BudgetPanel({ path, compact = false }: { path: string; compact?: boolean }) {
  const canWrite = useCanWrite();
  const budget = useApi<Budget>(path, undefined, { pollMs: 5_000 });
  const [editing, setEditing] = useState(false);
  const missing = budget.error instanceof ApiError && budget.error.status === 404;
  if (budget.loading && !budget.data) return <span className="muted">Loading budget…</span>;
  if (budget.error && !missing && !budget.data) return <Alert tone="error">{budget.error.message}</Alert>;
  const current = missing ? null : budget.data ?? null;
  return (
    <div className="stack" style={{ gap: 12 }}>
      {current ? <BudgetBar budget={current} /> : <span className="muted">No budget{compact ? "" : ": spend is recorded but not capped."}</span>}
      {canWrite && !editing ? (
        <div>
          <button type="button" className="btn btn-small" onClick={() => setEditing(true)}>
            {current ? "Edit budget" : "Set a budget"}
          </button>
        </div>
      ) : null}
      {canWrite && editing ? (
        <BudgetForm
          path={path}
          budget={current}
          onSaved={() => {
            setEditing(false);
            budget.reload();
          }}
        />
      ) : null}
    </div>
  );
}

/** Each active key's budget on its tenant's page. */
export function KeyBudgets({ tenantId, keys }: { tenantId: number; keys: { id: number; name: string; prefix: string; status: string }[] }) {
  const active = keys.filter((k) => k.status === "active");
  if (active.length === 0) return <span className="muted">No active keys.</span>;
  return (
    <div className="stack" style={{ gap: 16 }}>
      {active.map((k) => (
        <div key={k.id} aria-label={`Budget of key ${k.name || k.prefix}`}>
          <div className="strong" style={{ marginBottom: 4 }}>
            {k.name || "unnamed"} <span className="mono muted">{k.prefix}…</span>
          </div>
          <BudgetPanel path={`/tenants/${tenantId}/keys/${k.id}/budget`} compact />
        </div>
      ))}
    </div>
  );
}
