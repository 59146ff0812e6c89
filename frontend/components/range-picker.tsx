"use client";

import { useEffect, useState, type FormEvent } from "react";
import { RANGES, customRange, toLocalInput, type ChosenRange, type RangeKey } from "@/lib/ranges";
import { timeZoneLabel } from "@/lib/format";

/** Preset windows plus a custom from/to; every choice lands in the URL through `onChange`. */
export function RangePicker({ range, onChange, allowAll = false, align = "end" }: {
  range: Omit<ChosenRange, "key"> & { key: RangeKey | "custom" | "all" };
  onChange: (changes: { range: string; from?: string; to?: string }) => void;
  allowAll?: boolean;
  align?: "start" | "end";
}) {
  const [customOpen, setCustomOpen] = useState(range.key === "custom");
  const [from, setFrom] = useState(toLocalInput(range.fromMs));
  const [to, setTo] = useState(toLocalInput(range.toMs));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (range.key === "custom") {
      setCustomOpen(true);
      setFrom(toLocalInput(range.fromMs));
      setTo(toLocalInput(range.toMs));
    }
  }, [range.key, range.fromMs, range.toMs]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    // datetime-local values are local time without an offset; Date.parse reads them so.
    const checked = customRange(from, to);
    if ("error" in checked) {
      setError(checked.error);
      return;
    }
    setError(null);
    onChange({ range: "custom", from: new Date(checked.fromMs).toISOString(), to: new Date(checked.toMs).toISOString() });
  };

  return (
    <div className={`range-picker range-picker-${align}`}>
      <div className="segmented" role="group" aria-label="Time range">
        {RANGES.map((r) => (
          <button key={r.key} type="button" aria-pressed={r.key === range.key} onClick={() => { setCustomOpen(false); onChange({ range: r.key }); }}>
            {r.label}
          </button>
        ))}
        {allowAll ? (
          <button type="button" aria-pressed={range.key === "all"} onClick={() => { setCustomOpen(false); onChange({ range: "all" }); }}>
            All
          </button>
        ) : null}
        <button type="button" aria-pressed={range.key === "custom"} aria-expanded={customOpen} aria-controls="custom-range" onClick={() => setCustomOpen((open) => !open)}>
          Custom
        </button>
      </div>
      {customOpen ? (
        <form id="custom-range" className="custom-range" onSubmit={apply} noValidate>
          <label>
            <span>From</span>
            <input className="input" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby="custom-range-hint" />
          </label>
          <label>
            <span>To</span>
            <input className="input" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby="custom-range-hint" />
          </label>
          <button type="submit" className="btn btn-small">
            Show range
          </button>
          <span id="custom-range-hint" className={error ? "field-error" : "field-hint"} role={error ? "alert" : undefined}>
            {error ?? `Times in ${timeZoneLabel()}`}
          </span>
        </form>
      ) : null}
    </div>
  );
}
