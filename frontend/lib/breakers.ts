"use client";

import { useApi } from "./use-api";
import type { Breaker, BreakerReport } from "./api/types";

export const BREAKER_POLL_MS = 3_000;

/** Live breaker states from GET /breakers, polled every few seconds. */
export function useBreakers() {
  const resource = useApi<BreakerReport>("/breakers", undefined, { pollMs: BREAKER_POLL_MS });
  const list = resource.data?.breakers;
  const byProvider = new Map<string, Breaker>();
  for (const breaker of list ?? []) byProvider.set(breaker.provider, breaker);
  return { ...resource, list, byProvider, reachable: resource.data?.gateway_reachable ?? true, gatewayError: resource.data?.gateway_error ?? null };
}
