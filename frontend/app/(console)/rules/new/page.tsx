"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { api } from "@/lib/api/client";
import { useCanWrite } from "@/lib/session";
import type { Rule, RuleWrite } from "@/lib/api/types";
import { Card, PageHeader, ReadOnlyNotice } from "@/components/ui";
import { RuleForm } from "@/components/rule-form";

export default function NewRulePage() {
  const router = useRouter();
  const canWrite = useCanWrite();
  const create = async (body: RuleWrite) => {
    const rule = await api.post<Rule>("/rules", body);
    router.push(`/rules/${rule.id}`);
  };
  return (
    <>
      <div className="breadcrumb">
        <Link href="/rules">Routing rules</Link> / New
      </div>
      <PageHeader title="New routing rule" />
      {canWrite ? (
        <Card>
          <RuleForm readOnly={false} onSubmit={create} submitLabel="Create rule" />
        </Card>
      ) : (
        <ReadOnlyNotice />
      )}
    </>
  );
}
