// The time ranges the overview and the request logs offer.

export type RangeKey = "15m" | "1h" | "24h" | "7d";

export interface RangeOption {
  key: RangeKey;
  label: string;
  long: string;
  ms: number;
  stepS: number;
  pollMs: number;
}

export const RANGES: RangeOption[] = [
  { key: "15m", label: "15 min", long: "15 minutes", ms: 15 * 60_000, stepS: 30, pollMs: 5_000 },
  { key: "1h", label: "1 h", long: "hour", ms: 3_600_000, stepS: 60, pollMs: 10_000 },
  { key: "24h", label: "24 h", long: "24 hours", ms: 24 * 3_600_000, stepS: 900, pollMs: 30_000 },
  { key: "7d", label: "7 d", long: "7 days", ms: 7 * 24 * 3_600_000, stepS: 3_600, pollMs: 60_000 },
];

export function isRangeKey(value: string | null | undefined): value is RangeKey {
  return RANGES.some((r) => r.key === value);
}

export function rangeOf(key: RangeKey, now: number = Date.now()): { fromMs: number; toMs: number; query: { from: string; to: string; step: number } } {
  const option = RANGES.find((r) => r.key === key) ?? RANGES[1]!;
  // Align the end to the step so consecutive polls ask for the same buckets.
  const stepMs = option.stepS * 1000;
  const toMs = Math.ceil(now / stepMs) * stepMs;
  const fromMs = toMs - option.ms;
  return { fromMs, toMs, query: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), step: option.stepS } };
}

/** A window chosen in the URL: a preset (`range=1h`) or custom (`range=custom&from=..&to=..`). */
export interface ChosenRange {
  key: RangeKey | "custom";
  label: string;
  fromMs: number;
  toMs: number;
  /** Presets move with the clock and poll; a custom window is fixed. */
  pollMs: number | undefined;
  query: { from: string; to: string; step?: number };
}

const MAX_CUSTOM_MS = 31 * 24 * 3_600_000;

/** The custom window in the URL, or an error in plain words. */
export function customRange(from: string | null, to: string | null): { fromMs: number; toMs: number } | { error: string } {
  const fromMs = from ? Date.parse(from) : NaN;
  const toMs = to ? Date.parse(to) : NaN;
  if (Number.isNaN(fromMs) || Number.isNaN(toMs)) return { error: "Enter both a start and an end time." };
  if (fromMs >= toMs) return { error: "The start must be before the end." };
  if (toMs - fromMs > MAX_CUSTOM_MS) return { error: "A range may span at most 31 days." };
  return { fromMs, toMs };
}

export function chooseRange(params: URLSearchParams, fallback: RangeKey, now: number = Date.now()): ChosenRange & { error?: string } {
  const key = params.get("range");
  if (key === "custom") {
    const custom = customRange(params.get("from"), params.get("to"));
    if (!("error" in custom)) {
      return {
        key: "custom",
        label: "custom range",
        ...custom,
        pollMs: undefined,
        query: { from: new Date(custom.fromMs).toISOString(), to: new Date(custom.toMs).toISOString() },
      };
    }
    const preset = chooseRange(new URLSearchParams(), fallback, now);
    return { ...preset, error: custom.error };
  }
  const option = RANGES.find((r) => r.key === (isRangeKey(key) ? key : fallback)) ?? RANGES[1]!;
  const window = rangeOf(option.key, now);
  return { key: option.key, label: `last ${option.long}`, fromMs: window.fromMs, toMs: window.toMs, pollMs: option.pollMs, query: window.query };
}

/** A `datetime-local` input's value (local time, minutes) for a moment. */
export function toLocalInput(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
