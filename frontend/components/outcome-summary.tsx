"use client";

import Link from "next/link";
import { OUTCOMES, type OutcomeCounts } from "@/lib/api/types";
import { OUTCOME_LABELS, OUTCOME_TONES } from "@/lib/outcomes";
import { formatNumber, formatPercent } from "@/lib/format";
import { Pill } from "@/components/ui";

function share(part: number, whole: number): string {
  return whole ? formatPercent(part / whole) : "—";
}

/** The range's requests by outcome, each linking to those requests in the log. */
export function OutcomeSummary({ outcomes, logQuery = "" }: { outcomes: OutcomeCounts; logQuery?: string }) {
  return (
    <ul className="outcome-list" aria-label="Requests by outcome">
      {OUTCOMES.map((outcome) => (
        <li key={outcome} className={`outcome outcome-${OUTCOME_TONES[outcome]}`} data-testid={`outcome-${outcome}`}>
          <span className="outcome-label">
            <Pill tone={OUTCOME_TONES[outcome]}>{OUTCOME_LABELS[outcome]}</Pill>
          </span>
          <Link className="outcome-count" href={`/logs?outcome=${outcome}${logQuery}`} aria-label={`${formatNumber(outcomes[outcome])} ${OUTCOME_LABELS[outcome]}: show in the request log`}>
            {formatNumber(outcomes[outcome])}
          </Link>
          <span className="outcome-share muted">{share(outcomes[outcome], outcomes.requests)}</span>
        </li>
      ))}
    </ul>
  );
}

/** Status classes per tenant: 2xx served (of which fallbacks and cut streams), 4xx, 429, 5xx. */
export function TenantOutcomeTable({ tenants, nameOf }: { tenants: { tenant_id: number | null; outcomes: OutcomeCounts }[]; nameOf: (id: number | null) => string }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Requests per tenant">
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col" className="num">Requests</th>
            <th scope="col" className="num">2xx served</th>
            <th scope="col" className="num">Interrupted</th>
            <th scope="col" className="num">4xx refused</th>
            <th scope="col" className="num">429 limited</th>
            <th scope="col" className="num">5xx failed</th>
            <th scope="col" className="num">Not served</th>
          </tr>
        </thead>
        <tbody>
          {tenants.map(({ tenant_id, outcomes }) => {
            const served = outcomes.success + outcomes.fallback;
            const notServed = outcomes.requests - served;
            return (
              <tr key={tenant_id ?? "none"} data-testid={`tenant-row-${tenant_id ?? "none"}`}>
                <th scope="row" className="strong">{nameOf(tenant_id)}</th>
                <td className="num">{formatNumber(outcomes.requests)}</td>
                <td className="num">{formatNumber(served)}</td>
                <td className="num">{formatNumber(outcomes.interrupted)}</td>
                <td className="num">{formatNumber(outcomes.refused + outcomes.cancelled)}</td>
                <td className="num" data-testid="tenant-rate-limited">{formatNumber(outcomes.rate_limited)}</td>
                <td className="num">{formatNumber(outcomes.failed)}</td>
                <td className="num" data-testid="tenant-not-served">{share(notServed, outcomes.requests)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
