"use client";

import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { useState } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { useBreakers } from "@/lib/breakers";
import { useCanWrite } from "@/lib/session";
import type { Provider, ProviderWrite } from "@/lib/api/types";
import { Alert, BreakerPill, Card, KeyValue, Loadable, PageHeader, Pill, ReadOnlyNotice } from "@/components/ui";
import { ProviderForm } from "@/components/provider-form";
import { ManagedBadge, ManagedNotice } from "@/components/managed-by-file";
import { ResetBreakerButton, openFor } from "@/components/breakers";
import { FaultsCard, SecretCard } from "@/components/provider-cards";

export default function ProviderPage() {
  const { id } = useParams<{ id: string }>();
  const router = useRouter();
  const canWrite = useCanWrite();
  const provider = useApi<Provider>(`/providers/${encodeURIComponent(id)}`);
  const breakers = useBreakers();
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const save = async (body: ProviderWrite) => {
    await api.patch<Provider>(`/providers/${id}`, body);
    provider.reload();
  };
  const remove = async (p: Provider) => {
    if (!window.confirm(`Delete provider ${p.name}? Rules must not target it any more.`)) return;
    setDeleteError(null);
    try {
      await api.delete(`/providers/${p.id}`);
      router.push("/providers");
    } catch (err) {
      setDeleteError(errorMessage(err));
    }
  };

  return (
    <>
      <div className="breadcrumb">
        <Link href="/providers">Providers</Link> / {provider.data?.name ?? id}
      </div>
      <Loadable {...provider}>
        {(p) => {
          const breaker = breakers.byProvider.get(p.name);
          const editable = canWrite && !p.managed_by;
          return (
            <>
              <PageHeader
                title={p.name}
                description={`${p.type} provider${p.base_url ? ` at ${p.base_url}` : ""}`}
                actions={
                  <>
                    {p.enabled ? <Pill tone="green">Enabled</Pill> : <Pill tone="gray">Disabled</Pill>}
                    <ManagedBadge file={p.managed_by} />
                    {editable ? (
                      <button type="button" className="btn btn-danger" onClick={() => void remove(p)}>
                        Delete provider
                      </button>
                    ) : null}
                  </>
                }
              />
              <div className="stack">
                {!canWrite ? <ReadOnlyNotice /> : null}
                <ManagedNotice file={p.managed_by} />
                {deleteError ? <Alert tone="error" title="Not deleted">{deleteError}</Alert> : null}
                <Card
                  title="Circuit breaker"
                  description="Live from the gateway."
                  actions={canWrite && breaker && breaker.state !== "closed" ? <ResetBreakerButton provider={p.name} onDone={breakers.reload} /> : null}
                >
                  <KeyValue
                    items={[
                      ["State", <BreakerPill key="s" state={breaker?.state ?? (breakers.list ? "closed" : undefined)} />],
                      ["Calls in window", breaker?.calls ?? 0],
                      ["Failures in window", breaker?.failures ?? 0],
                      ["Consecutive failures", breaker?.consecutive_failures ?? 0],
                      ["Half-opens in", openFor(breaker) ?? "—"],
                      ["Times reopened", breaker?.reopen_count ?? 0],
                    ]}
                  />
                  {breakers.error ? <p className="field-error">Live state unavailable: {errorMessage(breakers.error)}</p> : null}
                </Card>
                {p.type === "mock" ? <FaultsCard provider={p} readOnly={!editable} onSaved={provider.reload} /> : null}
                <SecretCard provider={p} readOnly={!editable} onSaved={provider.reload} />
                <Card title="Configuration">
                  <ProviderForm provider={p} readOnly={!editable} onSubmit={save} submitLabel="Save changes" />
                </Card>
              </div>
            </>
          );
        }}
      </Loadable>
    </>
  );
}
