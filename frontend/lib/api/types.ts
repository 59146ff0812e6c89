// The admin API's bodies, as backend/src/routerx/admin/* define them.

export type Role = "admin" | "viewer";
export type BreakerState = "closed" | "half_open" | "open";
export type Capability = "text" | "vision" | "tools" | "json" | "audio" | "files" | "embeddings";
export type RuleCapability = "text" | "vision" | "embeddings";
export type ProviderType = "mock" | "openai" | "azure" | "anthropic" | "gemini" | "openai_compatible" | "bedrock" | "vertex";

export const PROVIDER_TYPES: ProviderType[] = ["mock", "openai", "openai_compatible", "azure", "anthropic", "gemini", "bedrock", "vertex"];
export const CAPABILITIES: Capability[] = ["text", "vision", "tools", "json", "audio", "files", "embeddings"];

/** Offset pagination of the configuration lists. */
export interface Page<T> {
  data: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Me {
  id: number;
  username: string;
  role: Role;
  default_password: boolean;
  session_expires_at: string;
}

export interface SessionToken {
  token: string;
  token_type: "bearer";
  expires_at: string;
  username: string;
  role: Role;
}

export interface TimeoutSettings {
  connect_s?: number | null;
  first_token_s?: number | null;
  idle_s?: number | null;
  total_s?: number | null;
}

export interface BreakerSettings {
  window_s?: number | null;
  min_calls?: number | null;
  failure_rate?: number | null;
  consecutive_failures?: number | null;
  open_s?: number | null;
  max_open_s?: number | null;
  jitter?: number | null;
  half_open_probes?: number | null;
  max_retry_after_s?: number | null;
}

export interface MockFaultSettings {
  latency_ms?: number | null;
  error_status?: number | null;
  failure_rate?: number | null;
  retry_after_s?: number | null;
  hang?: boolean | null;
  stream_error_after_chunks?: number | null;
  chunk_delay_ms?: number | null;
}

export interface ProviderSettings {
  timeouts?: TimeoutSettings | null;
  breaker?: BreakerSettings | null;
  mock?: MockFaultSettings | null;
  api_version?: string | null;
  stream_include_usage?: boolean | null;
  /** Whether the upstream continues a trailing assistant message (mid-stream rescue); unset: the type's default. */
  assistant_prefill?: boolean | null;
  region?: string | null;
  project?: string | null;
  location?: string | null;
  preset?: string | null;
}

/** A preset for an OpenAI-compatible host (GET /provider-presets). */
export interface ProviderPreset {
  name: string;
  label: string;
  type: "openai_compatible";
  base_url: string;
  auth: string;
  capabilities: Capability[];
  drop_fields: string[];
  stream_include_usage: boolean;
  example_model: string;
}

export interface Provider {
  id: number;
  name: string;
  type: ProviderType;
  base_url: string;
  model_map: Record<string, string>;
  capabilities: Capability[];
  enabled: boolean;
  settings: ProviderSettings;
  secret_set: boolean;
  secret_env: string | null;
  created_at: string;
  updated_at: string;
  /** The configuration file this resource comes from; the API refuses edits to it. */
  managed_by: string | null;
}

export interface ProviderWrite {
  name?: string;
  type?: ProviderType;
  base_url?: string;
  model_map?: Record<string, string>;
  capabilities?: Capability[];
  enabled?: boolean;
  settings?: ProviderSettings;
  secret?: string | null;
  secret_env?: string | null;
}

export interface Target {
  provider: string;
  model?: string | null;
  weight?: number;
  tier?: number;
}

export interface Rule {
  id: number;
  name: string;
  model_pattern: string;
  capability: RuleCapability;
  tenant_id: number | null;
  targets: Target[];
  hedge_delay_ms: number | "auto" | null;
  balancing?: "weighted" | "latency";
  stream_rescue?: StreamRescue;
  on_transient?: OnTransient;
  enabled: boolean;
  created_at: string;
  updated_at: string;
  /** The configuration file this resource comes from; the API refuses edits to it. */
  managed_by: string | null;
}

/** After a stream was cut mid-answer: the error event, or the next target continues it. */
export type StreamRescue = "error" | "continue";
/** After a transient failure: one more try at the same target first, or the next target at once. */
export type OnTransient = "retry_same" | "fail_over";

export interface RuleWrite {
  name: string;
  model_pattern: string;
  capability: RuleCapability;
  tenant_id: number | null;
  targets: Target[];
  hedge_delay_ms: number | "auto" | null;
  balancing?: "weighted" | "latency";
  stream_rescue?: StreamRescue;
  on_transient?: OnTransient;
  enabled: boolean;
}

export interface RouteExplainRequest {
  model: string;
  capability: RuleCapability;
  tools: boolean;
  json: boolean;
  tenant_id: number | null;
}

export interface ExplainedTarget {
  provider: string;
  model: string;
  tier: number;
  weight: number;
  capable: boolean;
  breaker_state: string;
  eligible: boolean;
  why: string;
}

export interface RouteExplanation {
  rule: { id: number; name: string; model_pattern: string; capability: string; tenant_id: number | null } | null;
  reason: string;
  targets: ExplainedTarget[];
  error: string | null;
}

export interface Tenant {
  id: number;
  name: string;
  status: "active" | "disabled";
  rpm_limit: number | null;
  tpm_limit: number | null;
  allowed_models: string[];
  created_at: string;
  updated_at: string;
  /** The configuration file this resource comes from; the API refuses edits to it. */
  managed_by: string | null;
  max_concurrency: number | null;
}

export interface TenantWrite {
  name?: string;
  status?: "active" | "disabled";
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  allowed_models?: string[];
  max_concurrency?: number | null;
}

export interface ApiKey {
  id: number;
  tenant_id: number;
  name: string;
  prefix: string;
  status: "active" | "revoked";
  rpm_limit: number | null;
  tpm_limit: number | null;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  managed_by: string | null;
  max_concurrency: number | null;
  expires_at: string | null;
  /** True once `expires_at` has passed: the gateway refuses the key. */
  expired: boolean;
  replaced_by_id: number | null;
}

export interface KeyWrite {
  name?: string;
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  max_concurrency?: number | null;
  expires_at?: string | null;
}

export interface CreatedKey {
  key: string;
  api_key: ApiKey;
}

export interface Attempt {
  provider: string;
  model: string;
  outcome: string; // success | failure | client_error | skipped_open | skipped_context_window | cancelled | interrupted | rescued | skipped_no_prefill
  status: number | null;
  latency_ms: number;
  breaker_state: string;
  error_type: string | null;
  hedged: boolean;
  reason?: string | null; // why routing chose this target (latency balancing)
  cost_usd?: string | null; // decimal string; null: unknown price
  cost_estimated?: boolean;
}

/** What became of a request (admin/outcomes.py). */
export type Outcome = "success" | "fallback" | "interrupted" | "refused" | "rate_limited" | "cancelled" | "failed";
export const OUTCOMES: Outcome[] = ["success", "fallback", "interrupted", "refused", "rate_limited", "cancelled", "failed"];

export interface RequestLog {
  request_id: string;
  created_at: string;
  tenant_id: number | null;
  key_id: number | null;
  model: string;
  capability: string;
  provider: string | null;
  upstream_model: string | null;
  rule: string | null;
  fallback: boolean;
  stream: boolean;
  status: number;
  outcome: Outcome;
  error_type: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  trace_id: string | null;
  attempt_count: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
  cost_usd?: string | null; // decimal string; null: unknown price
  cost_estimated?: boolean;
  budget_action?: string | null;
  /** The client's own x-request-id, if it sent one (RouterX's id is `request_id`). */
  client_request_id?: string | null;
}

export interface RequestLogDetail extends RequestLog {
  attempts: Attempt[];
}

export interface LogPage {
  data: RequestLog[];
  next_cursor: string | null;
}

/** One time bucket; `errors` are 5xx answers, `client_errors` 4xx (of which `rate_limited` 429),
 * `interrupted` cut streams; `error_rate` = (errors + interrupted) / requests; `fallbacks` are
 * requests served by a non-primary target. */
export interface StatsPoint {
  start: string;
  requests: number;
  errors: number;
  client_errors: number;
  rate_limited: number;
  interrupted: number;
  error_rate: number;
  fallbacks: number;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  p50_ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface Stats {
  from: string;
  to: string;
  step_s: number;
  total: StatsPoint[];
  providers: Record<string, StatsPoint[]>;
  /** Requests no provider answered: refused, rate-limited, or every target failed. */
  no_provider: StatsPoint[];
  outcomes: OutcomeCounts;
  tenants: { tenant_id: number | null; outcomes: OutcomeCounts }[];
  rows: number;
  truncated: boolean;
  complete_from: string;
}

export interface OutcomeCounts {
  requests: number;
  success: number;
  fallback: number;
  interrupted: number;
  refused: number;
  rate_limited: number;
  cancelled: number;
  failed: number;
}

export type LiveBreakerState = BreakerState | "unknown";

export interface Breaker {
  provider: string;
  configured: boolean;
  enabled: boolean;
  state: LiveBreakerState;
  calls: number;
  failures: number;
  consecutive_failures: number;
  /** Wall-clock seconds since the epoch. */
  open_until: number | null;
  reopen_count: number;
  /** One breaker per target (this provider with one upstream model); the fields above are the worst of them. */
  targets?: TargetBreaker[];
}

export interface TargetBreaker {
  model: string;
  state: LiveBreakerState;
  calls: number;
  failures: number;
  consecutive_failures: number;
  open_until: number | null;
  reopen_count: number;
}

export interface BreakerReport {
  gateway_reachable: boolean;
  gateway_error: string | null;
  breakers: Breaker[];
}

export interface BreakerReset {
  provider: string;
  reset: boolean;
  detail: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  created_at: string;
  password_changed_at: string | null;
}
