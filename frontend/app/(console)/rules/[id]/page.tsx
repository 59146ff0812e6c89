"use client";

import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { useState } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { exampleModel } from "@/lib/glob-example";
import { useCanWrite } from "@/lib/session";
import type { Rule, RuleWrite } from "@/lib/api/types";
import { Alert, Card, Loadable, PageHeader, ReadOnlyNotice } from "@/components/ui";
import { RuleForm } from "@/components/rule-form";
import { ManagedBadge, ManagedNotice } from "@/components/managed-by-file";

export default function RulePage() {
  const { id } = useParams<{ id: string }>();
  const router = useRouter();
  const canWrite = useCanWrite();
  const rule = useApi<Rule>(`/rules/${encodeURIComponent(id)}`);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const save = async (body: RuleWrite) => {
    await api.patch<Rule>(`/rules/${id}`, body);
    rule.reload(); // the header shows the saved name
  };
  const remove = async (r: Rule) => {
    if (!window.confirm(`Delete rule ${r.name}?`)) return;
    try {
      await api.delete(`/rules/${r.id}`);
      router.push("/rules");
    } catch (err) {
      setDeleteError(errorMessage(err));
    }
  };
  return (
    <>
      <div className="breadcrumb">
        <Link href="/rules">Routing rules</Link> / {rule.data?.name ?? id}
      </div>
      <Loadable {...rule}>
        {(r) => (
          <>
            <PageHeader
              title={r.name}
              description={`Routes ${r.capability} requests for ${r.model_pattern}.`}
              actions={
                <>
                  <Link className="btn" href={`/rules/tester?model=${encodeURIComponent(exampleModel(r.model_pattern))}&pattern=${encodeURIComponent(r.model_pattern)}&capability=${r.capability}${r.tenant_id ? `&tenant_id=${r.tenant_id}` : ""}`}>
                    Test this rule
                  </Link>
                  <ManagedBadge file={r.managed_by} />
                  {canWrite && !r.managed_by ? (
                    <button type="button" className="btn btn-danger" onClick={() => void remove(r)}>
                      Delete rule
                    </button>
                  ) : null}
                </>
              }
            />
            <div className="stack">
              {!canWrite ? <ReadOnlyNotice /> : null}
              <ManagedNotice file={r.managed_by} />
              {deleteError ? <Alert tone="error" title="Not deleted">{deleteError}</Alert> : null}
              <Card>
                <RuleForm rule={r} readOnly={!canWrite || Boolean(r.managed_by)} onSubmit={save} submitLabel="Save rule" />
              </Card>
            </div>
          </>
        )}
      </Loadable>
    </>
  );
}
