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
