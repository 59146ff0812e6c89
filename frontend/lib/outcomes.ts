// How the console names and colours each request outcome (admin/outcomes.py computes them).

import type { Outcome } from "@/lib/api/types";
import type { Tone } from "@/components/ui";

export const OUTCOME_LABELS: Record<Outcome, string> = {
  success: "Success",
  fallback: "Fallback served",
  interrupted: "Stream interrupted",
  refused: "Refused (4xx)",
  rate_limited: "Rate-limited (429)",
  cancelled: "Client left (499)",
  failed: "Failed (5xx)",
};

export const OUTCOME_TONES: Record<Outcome, Tone> = {
  success: "green",
  fallback: "blue",
  interrupted: "red",
  refused: "amber",
  rate_limited: "amber",
  cancelled: "gray",
  failed: "red",
};
