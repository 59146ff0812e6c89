"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { Fragment, useState } from "react";
import { useApi } from "@/lib/use-api";
import type { AuditEntry, Page } from "@/lib/api/types";
import { Card, EmptyState, Loadable, PageHeader, Pill, SelectField, TextField, type Tone } from "@/components/ui";
import { formatDateTime } from "@/lib/format";

const PAGE_SIZE = 50;
const RESOURCE_TYPES = ["tenant", "api_key", "provider", "routing_rule", "breaker", "user"];
const ACTION_TONES: Record<string, Tone> = { create: "green", update: "blue", delete: "red", revoke: "red", rotate: "amber", reset: "amber", disable: "amber", enable: "green", password_change: "violet", reset_password: "violet" };

/** The resource's own name as the entry recorded it (a user's username, a breaker's provider). */
function resourceName(entry: AuditEntry): string | null {
  for (const view of [entry.after, entry.before]) {
    for (const field of ["name", "username", "provider"]) {
      const value = view?.[field];
      if (typeof value === "string" && value) return value;
    }
  }
  return null;
}

function shown(value: unknown): string {
  if (value === undefined) return "—";
  if (value === null) return "none";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The fields an entry changed, each with its old and new value; a create or delete lists the
 * whole record on one side. */
function fieldDiff(entry: AuditEntry): { field: string; before: unknown; after: unknown }[] {
  const keys = entry.before && entry.after ? changedKeys(entry) : Object.keys(entry.after ?? entry.before ?? {});
  return keys.filter((k) => k !== "updated_at").map((field) => ({ field, before: entry.before?.[field], after: entry.after?.[field] }));
}

function changedKeys(entry: AuditEntry): string[] {
  if (!entry.before || !entry.after) return [];
  const keys = new Set([...Object.keys(entry.before), ...Object.keys(entry.after)]);
  return [...keys].filter((k) => k !== "updated_at" && JSON.stringify(entry.before?.[k]) !== JSON.stringify(entry.after?.[k]));
}

export default function AuditPage() {
  const router = useRouter();
  const params = useSearchParams();
  const actor = params.get("actor") ?? "";
  const resourceType = params.get("resource_type") ?? "";
  const offset = Number(params.get("offset") ?? "0") || 0;
  const [actorText, setActorText] = useState(actor);
  const [open, setOpen] = useState<number | null>(null);
  const audit = useApi<Page<AuditEntry>>("/audit", { actor: actor || undefined, resource_type: resourceType || undefined, limit: PAGE_SIZE, offset });

  const navigate = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params.toString());
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!("offset" in changes)) next.delete("offset");
    router.push(`/audit?${next.toString()}`);
  };

  return (
    <>
      <PageHeader title="Audit log" description="Who changed what, and when. Secrets never appear here: only whether one was set." />
      <div className="stack">
        <Card>
          <form
            className="filters"
            aria-label="Filters"
            onSubmit={(e) => {
              e.preventDefault();
              navigate({ actor: actorText.trim() });
            }}
          >
            <TextField label="Actor" value={actorText} onChange={(e) => setActorText(e.target.value)} placeholder="any user" />
            <SelectField label="Resource" value={resourceType} onChange={(e) => navigate({ resource_type: e.target.value })}>
              <option value="">Any resource</option>
              {RESOURCE_TYPES.map((r) => (
                <option key={r} value={r}>
                  {r.replace("_", " ")}
                </option>
              ))}
            </SelectField>
            <div>
              <button type="submit" className="btn">
                Apply
              </button>
            </div>
          </form>
        </Card>
        <Card className="card-flush">
          <Loadable {...audit} empty={(page) => (page.data.length === 0 ? <EmptyState title="No audit entries">Changes made in the console or through the admin API appear here.</EmptyState> : null)}>
            {(page) => (
              <>
                <div className="table-wrap">
                  <table className="table" aria-label="Audit entries">
                    <thead>
                      <tr>
                        <th>Time</th>
                        <th>Actor</th>
                        <th>Action</th>
                        <th>Resource</th>
                        <th>Changed</th>
                        <th className="actions">Details</th>
                      </tr>
                    </thead>
                    <tbody>
                      {page.data.map((entry) => {
                        const changed = changedKeys(entry);
                        return (
                          <Fragment key={entry.id}>
                            <tr>
                              <td className="nowrap muted">{formatDateTime(entry.at)}</td>
                              <td className="strong">{entry.actor}</td>
                              <td>
                                <Pill tone={ACTION_TONES[entry.action] ?? "gray"}>{entry.action.replace("_", " ")}</Pill>
                              </td>
                              <td>
                                {entry.resource_type.replace("_", " ")} {resourceName(entry) ? <span className="strong">{resourceName(entry)}</span> : null} <span className="muted mono">{entry.resource_id ? `#${entry.resource_id}` : ""}</span>
                              </td>
                              <td className="muted">{changed.length ? changed.join(", ") : "—"}</td>
                              <td className="actions">
                                {entry.before || entry.after ? (
                                  <button type="button" className="btn btn-small" aria-expanded={open === entry.id} onClick={() => setOpen(open === entry.id ? null : entry.id)}>
                                    {open === entry.id ? "Hide" : "Show"}
                                  </button>
                                ) : null}
                              </td>
                            </tr>
                            {open === entry.id ? (
                              <tr>
                                <td colSpan={6}>
                                  <div className="table-wrap">
                                    <table className="table diff-table" aria-label={`Changes of ${entry.resource_type.replace("_", " ")} ${resourceName(entry) ?? entry.resource_id ?? ""}`}>
                                      <thead>
                                        <tr>
                                          <th scope="col">Field</th>
                                          <th scope="col">Before</th>
                                          <th scope="col">After</th>
                                        </tr>
                                      </thead>
                                      <tbody>
                                        {fieldDiff(entry).map((row) => (
                                          <tr key={row.field}>
                                            <th scope="row" className="mono">{row.field}</th>
                                            <td className="mono diff-before">{shown(row.before)}</td>
                                            <td className="mono diff-after">{shown(row.after)}</td>
                                          </tr>
                                        ))}
                                      </tbody>
                                    </table>
                                  </div>
                                  <details className="raw-record">
                                    <summary>Full record</summary>
                                    <div className="grid-2">
                                      <div>
                                        <div className="stat-label">Before</div>
                                        <pre className="json">{entry.before ? JSON.stringify(entry.before, null, 2) : "—"}</pre>
                                      </div>
                                      <div>
                                        <div className="stat-label">After</div>
                                        <pre className="json">{entry.after ? JSON.stringify(entry.after, null, 2) : "—"}</pre>
                                      </div>
                                    </div>
                                  </details>
                                </td>
                              </tr>
                            ) : null}
                          </Fragment>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
                <div className="pager">
                  <span>
                    {page.total === 0 ? 0 : page.offset + 1}–{page.offset + page.data.length} of {page.total}
                  </span>
                  <div className="pager-buttons">
                    <button type="button" className="btn btn-small" disabled={page.offset === 0} onClick={() => navigate({ offset: String(Math.max(0, page.offset - PAGE_SIZE)) })}>
                      Newer
                    </button>
                    <button type="button" className="btn btn-small" disabled={page.offset + page.data.length >= page.total} onClick={() => navigate({ offset: String(page.offset + PAGE_SIZE) })}>
                      Older
                    </button>
                  </div>
                </div>
              </>
            )}
          </Loadable>
        </Card>
      </div>
    </>
  );
}
