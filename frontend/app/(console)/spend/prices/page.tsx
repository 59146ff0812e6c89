"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { useCanWrite } from "@/lib/session";
import type { PriceRow, PriceTable } from "@/lib/api/spend-types";
import { Alert, Card, Loadable, NO_ERRORS, PageHeader, Pill, ReadOnlyNotice, TextField, formErrorsFrom, type FormErrors, type Tone } from "@/components/ui";
import { formatNumber } from "@/lib/format";

const COLUMNS: [string, string][] = [
  ["input", "Input"],
  ["cached_input", "Cached input"],
  ["cache_write_5m", "Cache write 5m"],
  ["cache_write_1h", "Cache write 1h"],
  ["output", "Output"],
];
const ORIGIN: Record<PriceRow["origin"], { label: string; tone: Tone }> = {
  override: { label: "override", tone: "violet" },
  table: { label: "loaded table", tone: "blue" },
  catalog: { label: "catalog", tone: "gray" },
};

function OverrideForm({ onSaved }: { onSaved: () => void }) {
  const [provider, setProvider] = useState("");
  const [model, setModel] = useState("");
  const [prices, setPrices] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    const given = Object.fromEntries(Object.entries(prices).filter(([, v]) => v.trim() !== "").map(([k, v]) => [k, v.trim()]));
    try {
      await api.put<PriceRow>("/prices/overrides", { provider: provider.trim(), model: model.trim(), prices: given });
      setPrices({});
      onSaved();
    } catch (err) {
      setErrors(formErrorsFrom(err, (p) => p === "provider" || p === "model" || p.startsWith("prices")));
    } finally {
      setBusy(false);
    }
  };
  const priceError = Object.entries(errors.fields).find(([k]) => k.startsWith("prices"));
  return (
    <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label="Price override">
      {errors.form ? <Alert tone="error" title="Override not saved">{errors.form}</Alert> : null}
      {priceError ? <Alert tone="error" title="Check the prices">{priceError[1]}</Alert> : null}
      <div className="form-grid-3">
        <TextField label="Provider" value={provider} onChange={(e) => setProvider(e.target.value)} error={errors.fields.provider} hint='a provider name, or * for any provider' />
        <TextField label="Upstream model" value={model} onChange={(e) => setModel(e.target.value)} error={errors.fields.model} placeholder="e.g. gpt-4.1-mini" />
        {COLUMNS.map(([key, label]) => (
          <TextField key={key} label={`${label} (USD / 1M tokens)`} inputMode="decimal" value={prices[key] ?? ""} onChange={(e) => setPrices({ ...prices, [key]: e.target.value })} placeholder={key === "input" ? "e.g. 0.40" : key === "output" ? "e.g. 1.60" : "not billed"} />
        ))}
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : "Save override"}
        </button>
      </div>
    </form>
  );
}

export default function PricesPage() {
  const canWrite = useCanWrite();
  const [filter, setFilter] = useState("");
  const table = useApi<PriceTable>("/prices", { q: filter || undefined });
  const [error, setError] = useState<string | null>(null);
  const remove = async (row: PriceRow) => {
    if (row.override_id === null || !window.confirm(`Remove the price of ${row.provider} / ${row.model}?`)) return;
    try {
      await api.delete(`/prices/overrides/${row.override_id}`);
      table.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <>
      <div className="breadcrumb">
        <Link href="/spend">Spend</Link> / Prices
      </div>
      <PageHeader
        title="Price table"
        description={<>USD per million tokens. An override for a provider and upstream model wins over a loaded table (<span className="mono">routerx prices load FILE</span>), which wins over the bundled catalog{table.data ? ` (checked ${table.data.checked})` : ""}.</>}
        actions={<input className="input" style={{ width: 220 }} placeholder="Filter by model" aria-label="Filter by model" value={filter} onChange={(e) => setFilter(e.target.value)} />}
      />
      <div className="stack">
        {!canWrite ? <ReadOnlyNotice /> : null}
        {canWrite ? (
          <Card title="Set a price" description="Azure deployments, negotiated rates, self-hosted models at 0.">
            <OverrideForm onSaved={table.reload} />
          </Card>
        ) : null}
        {error ? <Alert tone="error" title="Not removed">{error}</Alert> : null}
        <Card>
          <Loadable {...table}>
            {(t) => (
              <div className="table-wrap" style={{ margin: "-20px" }}>
                <table className="table" aria-label="Prices">
                  <thead>
                    <tr>
                      <th>Model</th>
                      <th>Provider</th>
                      <th>Origin</th>
                      {COLUMNS.map(([key, label]) => (
                        <th key={key} className="num">
                          {label}
                        </th>
                      ))}
                      <th className="num">Context</th>
                      <th>Tiers</th>
                      {canWrite ? <th className="actions">Actions</th> : null}
                    </tr>
                  </thead>
                  <tbody>
                    {t.data.map((row) => (
                      <tr key={`${row.origin}-${row.provider}-${row.model}`}>
                        <td className="mono strong nowrap" title={row.notes || undefined}>
                          {row.model}
                        </td>
                        <td>{row.provider}</td>
                        <td>
                          <Pill tone={ORIGIN[row.origin].tone}>{ORIGIN[row.origin].label}</Pill>
                        </td>
                        {COLUMNS.map(([key]) => (
                          <td key={key} className="num mono">
                            {row.prices[key] !== undefined ? `$${row.prices[key]}` : <span className="muted">—</span>}
                          </td>
                        ))}
                        <td className="num">{row.context_window ? formatNumber(row.context_window) : <span className="muted">—</span>}</td>
                        <td className="muted">
                          {row.tiers.map((tier) => `> ${formatNumber(tier.above_prompt_tokens)}: ${tier.prices.input ? `$${tier.prices.input} / $${tier.prices.output ?? "?"}` : "unknown"}`).join("; ") || "—"}
                        </td>
                        {canWrite ? (
                          <td className="actions">
                            {row.override_id !== null ? (
                              <button type="button" className="btn btn-small btn-danger" onClick={() => void remove(row)} aria-label={`Remove price of ${row.model}`}>
                                Remove
                              </button>
                            ) : row.source.startsWith("http") ? (
                              <a href={row.source} target="_blank" rel="noreferrer noopener" className="muted">
                                source
                              </a>
                            ) : null}
                          </td>
                        ) : null}
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
