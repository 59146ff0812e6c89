"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { api } from "@/lib/api/client";
import { useCanWrite } from "@/lib/session";
import type { Provider, ProviderWrite } from "@/lib/api/types";
import { Card, PageHeader, ReadOnlyNotice } from "@/components/ui";
import { ProviderForm } from "@/components/provider-form";

export default function NewProviderPage() {
  const router = useRouter();
  const canWrite = useCanWrite();
  const create = async (body: ProviderWrite) => {
    const provider = await api.post<Provider>("/providers", body);
    router.push(`/providers/${provider.id}`);
  };
  return (
    <>
      <div className="breadcrumb">
        <Link href="/providers">Providers</Link> / New
      </div>
      <PageHeader title="New provider" description="Empty numbers use the gateway's defaults." />
      {canWrite ? (
        <Card>
          <ProviderForm readOnly={false} onSubmit={create} submitLabel="Create provider" />
        </Card>
      ) : (
        <ReadOnlyNotice />
      )}
    </>
  );
}
