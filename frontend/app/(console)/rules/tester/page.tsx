"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useState, type FormEvent } from "react";
import { api } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import type { Page, RouteExplainRequest, RouteExplanation, Tenant } from "@/lib/api/types";
import { Alert, BreakerPill, Card, CheckboxField, EmptyState, NO_ERRORS, PageHeader, Pill, SelectField, TextField, formErrorsFrom, type FormErrors } from "@/components/ui";
import { paramIn } from "@/lib/forms";
import { tierName } from "@/components/rule-form";
import { isGlob } from "@/lib/glob-example";

export default function RuleTesterPage() {
  const params = useSearchParams();
  const tenants = useApi<Page<Tenant>>("/tenants", { limit: 200 });
  const [model, setModel] = useState(params.get("model") ?? "gpt-4.1-mini");
  const pattern = params.get("pattern");
  const filledFrom = pattern && isGlob(pattern) && model === params.get("model") ? pattern : null;
  const [images, setImages] = useState(params.get("capability") === "vision");
  const [tools, setTools] = useState(false);
  const [json, setJson] = useState(false);
  const [tenantId, setTenantId] = useState(params.get("tenant_id") ?? "");
  const [result, setResult] = useState<RouteExplanation | null>(null);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: RouteExplainRequest = {
      model: model.trim(),
      capability: images ? "vision" : "text",
      tools,
      json,
      tenant_id: tenantId ? Number(tenantId) : null,
    };
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      setResult(await api.post<RouteExplanation>("/rules/test", body));
    } catch (err) {
      setResult(null);
      setErrors(formErrorsFrom(err, paramIn(["model", "capability", "tools", "json", "tenant_id"])));
    } finally {
      setBusy(false);
    }
  };

  const chosen = result?.targets.find((t) => t.eligible);
  const testedTenant = result && tenantId ? tenants.data?.data.find((t) => String(t.id) === tenantId) : undefined;
  const refusedByTenant = result !== null && result.rule === null && Boolean(result.error?.includes("may not use model"));

  return (
    <>
      <div className="breadcrumb">
        <Link href="/rules">Routing rules</Link> / Rule tester
      </div>
      <PageHeader title="Rule tester" description="Ask the running gateway where a request would go now, and why — including live breaker states. Nothing is sent to a provider." />
      <div className="stack">
        <Card title="Sample request">
          <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label="Sample request">
            {errors.form ? <Alert tone="error" title="Could not test">{errors.form}</Alert> : null}
            <div className="form-grid">
              <TextField
                label="Model"
                value={model}
                onChange={(e) => setModel(e.target.value)}
                error={errors.fields.model}
                required
                hint={filledFrom ? <span data-testid="example-note">An example model the rule&apos;s pattern <code>{filledFrom}</code> matches; edit it to try another.</span> : undefined}
              />
              <SelectField label="Tenant" value={tenantId} onChange={(e) => setTenantId(e.target.value)} error={errors.fields.tenant_id}>
                <option value="">No tenant (global rules only)</option>
                {(tenants.data?.data ?? []).map((t) => (
                  <option key={t.id} value={String(t.id)}>
                    {t.name}
                  </option>
                ))}
              </SelectField>
            </div>
            <div className="checks">
              <CheckboxField label="Has images" checked={images} onChange={setImages} error={errors.fields.capability} />
              <CheckboxField label="Uses tools" checked={tools} onChange={setTools} error={errors.fields.tools} />
              <CheckboxField label="JSON output" checked={json} onChange={setJson} error={errors.fields.json} />
            </div>
            <div className="form-actions left">
              <button type="submit" className="btn btn-primary" disabled={busy || !model.trim()}>
                {busy ? "Testing…" : "Test route"}
              </button>
            </div>
          </form>
        </Card>

        {result ? (
          <Card
            title="Result"
            actions={chosen ? <Pill tone="green">Would reach {chosen.provider}</Pill> : <Pill tone="red">No eligible target</Pill>}
          >
            <div className="stack" style={{ gap: 14 }}>
              <div>
                <div className="strong" aria-label="Matched rule">
                  {result.rule ? (
                    <>
                      Rule <Link href={`/rules/${result.rule.id}`}>{result.rule.name}</Link> <span className="muted mono">({result.rule.model_pattern}, {result.rule.capability}{result.rule.tenant_id ? `, tenant ${result.rule.tenant_id}` : ", global"})</span>
                    </>
                  ) : refusedByTenant ? (
                    "Refused by the tenant's allowed models"
                  ) : (
                    "No rule matches"
                  )}
                </div>
                <p className="why" style={{ margin: "4px 0 0" }}>
                  {result.reason}
                </p>
                {result.error ? (
                  <div style={{ marginTop: 8 }}>
                    <Alert tone="error">
                      {result.error}
                      {refusedByTenant && testedTenant ? (
                        <>
                          {" "}— it allows {testedTenant.allowed_models.map((m) => <code key={m}>{m} </code>)} (<Link href={`/tenants/${testedTenant.id}`}>edit the tenant</Link>). The gateway would answer 404 model_not_found.
                        </>
                      ) : null}
                    </Alert>
                  </div>
                ) : null}
              </div>
              {result.targets.length === 0 ? (
                <EmptyState title="No targets" />
              ) : (
                <div className="table-wrap">
                  <table className="table" aria-label="Targets in order">
                    <thead>
                      <tr>
                        <th>Tier</th>
                        <th>Provider</th>
                        <th>Model</th>
                        <th className="num">Weight</th>
                        <th>Capable</th>
                        <th>Breaker</th>
                        <th>Eligible</th>
                        <th>Why</th>
                      </tr>
                    </thead>
                    <tbody>
                      {result.targets.map((t, i) => (
                        <tr key={`${t.provider}-${i}`}>
                          <td>
                            {t.tier} <span className="muted">{tierName(t.tier)}</span>
                          </td>
                          <td className="strong">{t.provider}</td>
                          <td className="mono">{t.model}</td>
                          <td className="num">{t.weight}</td>
                          <td>{t.capable ? <Pill tone="green">yes</Pill> : <Pill tone="red">no</Pill>}</td>
                          <td>
                            <BreakerPill state={t.breaker_state} />
                          </td>
                          <td>{t.eligible ? <Pill tone="green">eligible</Pill> : <Pill tone="gray">skipped</Pill>}</td>
                          <td className="why">{t.why}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </div>
          </Card>
        ) : null}
      </div>
    </>
  );
}
