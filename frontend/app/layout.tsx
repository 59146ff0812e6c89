import type { Metadata } from "next";
import type { ReactNode } from "react";
import { connection } from "next/server";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "RouterX Console", template: "%s · RouterX Console" },
  description: "Admin Console of the RouterX LLM gateway",
  robots: { index: false, follow: false },
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page renders per request: the Content-Security-Policy nonce (proxy.ts) is new each time.
  await connection();
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
