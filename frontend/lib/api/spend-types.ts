// The spend part of the admin API (GET /spend, budgets, prices).

export type GroupBy = "tenant" | "key" | "provider" | "model" | "rule";

export interface SpendPoint {
  start: string;
  cost_usd: string;
  requests: number;
  unknown: number;
}

export interface SpendSeries {
  group: string;
  label: string;
  cost_usd: string;
  requests: number;
  unknown: number;
  estimated: number;
  points: SpendPoint[];
}

export interface SpendReport {
  from: string;
  to: string;
  step_s: number;
  group_by: GroupBy;
  currency: string;
  total_usd: string;
  requests: number;
  unknown: number;
  total: SpendPoint[];
  series: SpendSeries[];
  rows: number;
  truncated: boolean;
}

export type BudgetPeriod = "day" | "week" | "month" | "lifetime";

export interface Budget {
  scope: "tenant" | "key";
  subject_id: number;
  amount_usd: string;
  period: BudgetPeriod;
  thresholds: number[];
  action: "refuse" | "downgrade";
  downgrade_model: string | null;
  webhook_url: string | null;
  period_key: string;
  spent_usd: string;
  percent: number;
  exhausted: boolean;
  resets_at: string | null;
  updated_at: string;
}

export interface BudgetWrite {
  amount_usd: string;
  period: BudgetPeriod;
  thresholds: number[];
  action: "refuse" | "downgrade";
  downgrade_model: string | null;
  webhook_url: string | null;
}

export interface PriceRow {
  provider: string;
  model: string;
  origin: "catalog" | "override" | "table";
  prices: Record<string, string>;
  tiers: { above_prompt_tokens: number; prices: Record<string, string> }[];
  context_window: number | null;
  max_output: number | null;
  source: string;
  checked: string | null;
  notes: string;
  override_id: number | null;
  updated_at: string | null;
}

export interface PriceTable {
  checked: string;
  data: PriceRow[];
}
