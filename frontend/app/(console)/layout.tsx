"use client";

import { Suspense, type ReactNode } from "react";
import { SessionProvider } from "@/lib/session";
import { Shell } from "@/components/shell";
import { ErrorState, LoadingState } from "@/components/ui";

export default function ConsoleLayout({ children }: { children: ReactNode }) {
  return (
    <SessionProvider
      fallback={
        <div className="login-wrap">
          <LoadingState label="Loading the console…" />
        </div>
      }
      failure={(error, retry) => (
        <div className="login-wrap">
          <div className="login-card">
            <ErrorState title="The console cannot reach the admin API" error={error} onRetry={retry} />
          </div>
        </div>
      )}
    >
      <Shell>
        <Suspense fallback={<LoadingState />}>{children}</Suspense>
      </Shell>
    </SessionProvider>
  );
}
