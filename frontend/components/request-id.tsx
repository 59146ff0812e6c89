"use client";

import Link from "next/link";
import { useState } from "react";

const KEEP = 10;

/** How many trailing characters tell the page's ids apart: at least KEEP, more while two ids
 * would look alike (gateway ids share their first 16 characters, the process part). */
export function suffixLength(ids: string[]): number {
  const longest = Math.max(0, ...ids.map((id) => id.length));
  for (let length = KEEP; length < longest; length += 1) {
    const tails = new Set(ids.map((id) => id.slice(-length)));
    if (tails.size === new Set(ids).size) return length;
  }
  return longest;
}

/** The distinguishing tail of an id, with an ellipsis for what is left out; a short id (a
 * client's own, usually) is shown whole. */
export function distinguishingPart(id: string, keep: number): string {
  return id.length > Math.max(16, keep + 1) ? `…${id.slice(-keep)}` : id;
}

/** A request id: its distinguishing part links to the trace; the button copies the whole id. */
export function RequestIdCell({ id, keep }: { id: string; keep: number }) {
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(id);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
    setTimeout(() => setCopied("idle"), 1500);
  };
  return (
    <span className="request-id">
      <Link className="mono row-link" href={`/logs/${encodeURIComponent(id)}`} title={id} aria-label={id}>
        {distinguishingPart(id, keep)}
      </Link>
      <button type="button" className="icon-button" onClick={() => void copy()} aria-label={`Copy request id ${id}`} title="Copy the full request id">
        {copied === "copied" ? (
          <span className="copied">Copied</span>
        ) : (
          <svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
            <rect x="9" y="9" width="11" height="11" rx="2" />
            <path d="M5 15V5a2 2 0 0 1 2-2h10" />
          </svg>
        )}
      </button>
      <span className="sr-only" role="status">
        {copied === "copied" ? "Request id copied" : copied === "failed" ? "Copy failed: select the id and copy it" : ""}
      </span>
    </span>
  );
}
