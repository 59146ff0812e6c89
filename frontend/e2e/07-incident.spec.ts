import { expect, shot, test } from "./fixtures";
import { adminApi, gatewayChat, settled, signIn, type GatewayAnswer } from "./console-helpers";
import type { Page } from "@playwright/test";

// The incident: the primary answers 503 and its breaker opens, fallbacks are served by the
// backup, then the backup fails too (nothing served), a stream is cut after 2 chunks, and one
// tenant runs into its rate limit. The overview's numbers must match what the clients saw and
// what the request log lists.

const MODEL = "incident-model";
const OUTCOMES = ["success", "fallback", "interrupted", "refused", "rate_limited", "cancelled", "failed"] as const;
type OutcomeName = (typeof OUTCOMES)[number];

async function outcomeCount(page: Page, outcome: OutcomeName): Promise<number> {
  const text = await page.getByTestId(`outcome-${outcome}`).locator(".outcome-count").textContent();
  return Number((text ?? "").replace(/[^0-9]/g, ""));
}

async function logRows(page: Page, query: string): Promise<number> {
  await page.goto(`/logs?${query}&limit=100`);
  await settled(page);
  const table = page.getByRole("table", { name: "Requests" });
  if ((await table.count()) === 0) {
    await expect(page.getByText("No requests match")).toBeVisible();
    return 0;
  }
  return (await table.locator("tbody tr").count());
}

test("incident: the overview's numbers match what clients saw and what the request log lists", async ({ page, request }) => {
  test.setTimeout(180_000);
  await signIn(page);
  const admin = adminApi(page);
  await admin.post("/providers", { name: "incident-primary", type: "mock", capabilities: ["text"], settings: { mock: { error_status: 503 }, breaker: { consecutive_failures: 2, min_calls: 2, open_s: 300, max_open_s: 600 } } });
  const backup = await admin.post("/providers", { name: "incident-backup", type: "mock", capabilities: ["text"], settings: { breaker: { consecutive_failures: 100, min_calls: 100 } } });
  await admin.post("/rules", { name: "incident-rule", model_pattern: MODEL, capability: "text", targets: [{ provider: "incident-primary", weight: 1, tier: 0 }, { provider: "incident-backup", weight: 1, tier: 1 }] });
  const busy = await admin.post("/tenants", { name: "incident-busy" });
  const limited = await admin.post("/tenants", { name: "incident-limited", rpm_limit: 3 });
  const busyKey: string = (await admin.post(`/tenants/${busy.id}/keys`, { name: "busy" })).key;
  const limitedKey: string = (await admin.post(`/tenants/${limited.id}/keys`, { name: "limited" })).key;

  // Until the gateway has the new rule and keys (its config poll), answers are 401/404: those
  // happen before the window the test counts.
  await expect(async () => expect((await gatewayChat(request, busyKey, { model: MODEL })).status).toBe(200)).toPass({ timeout: 20_000 });
  await expect(async () => expect((await gatewayChat(request, limitedKey, { model: MODEL })).status).toBe(200)).toPass({ timeout: 20_000 });
  // Stats buckets start on whole steps (10 s for a 10-minute range): the window starts on one.
  const fromMs = Math.ceil((Date.now() + 1) / 10_000) * 10_000;
  await expect.poll(() => Date.now(), { timeout: 15_000 }).toBeGreaterThan(fromMs);

  const seen: { answer: GatewayAnswer; stream: boolean }[] = [];
  const send = async (key: string, stream = false) => {
    const answer = await gatewayChat(request, key, { model: MODEL, stream });
    seen.push({ answer, stream });
    return answer;
  };
  for (let i = 0; i < 4; i += 1) expect((await send(busyKey)).status).toBe(200);
  for (let i = 0; i < 5; i += 1) await send(limitedKey);

  // The backup fails too: nothing is served.
  await admin.patch(`/providers/${backup.id}`, { settings: { ...backup.settings, mock: { error_status: 502 } } });
  await expect(async () => expect((await send(busyKey)).status).toBe(502)).toPass({ timeout: 20_000 });
  await send(busyKey);
  // The backup recovers but cuts every stream after 2 chunks.
  await admin.patch(`/providers/${backup.id}`, { settings: { ...backup.settings, mock: { stream_error_after_chunks: 2 } } });
  await expect(async () => {
    const answer = await send(busyKey, true);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('"error"');
  }).toPass({ timeout: 20_000 });
  const toMs = fromMs + 10 * 60_000;

  const expected: Record<OutcomeName, number> = { success: 0, fallback: 0, interrupted: 0, refused: 0, rate_limited: 0, cancelled: 0, failed: 0 };
  for (const { answer, stream } of seen) {
    if (answer.status === 429) expected.rate_limited += 1;
    else if (answer.status >= 500) expected.failed += 1;
    else if (answer.status === 200 && stream && answer.text.includes('"error"')) expected.interrupted += 1;
    else if (answer.status === 200) expected.fallback += 1; // the primary always fails
    else expected.refused += 1;
  }
  expect(expected.rate_limited).toBeGreaterThan(0);
  expect(expected.failed).toBeGreaterThanOrEqual(2);
  expect(expected.interrupted).toBe(1);

  const window = `range=custom&from=${encodeURIComponent(new Date(fromMs).toISOString())}&to=${encodeURIComponent(new Date(toMs).toISOString())}`;
  await page.goto(`/?${window}`);
  // The request log is written a moment after each answer: poll until every request is counted.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("tile-requests")).toHaveText(String(seen.length), { timeout: 10_000 });
  }).toPass({ timeout: 60_000 });
  await settled(page);
  for (const outcome of OUTCOMES) expect(await outcomeCount(page, outcome), outcome).toBe(expected[outcome]);
  await expect(page.getByTestId("tile-fallbacks")).toHaveText(String(expected.fallback));
  const rate = Math.round(((expected.failed + expected.interrupted) / seen.length) * 1000) / 10;
  await expect(page.getByTestId("tile-error-rate")).toHaveText(rate >= 10 ? `${rate.toFixed(0)}%` : `${rate.toFixed(1)}%`);
  await expect(page.getByTestId("tile-error-detail")).toHaveText(`${expected.failed} failed (5xx), 1 interrupted stream`);
  // The rate-limited tenant's 429s are visible on its own line.
  const limitedRow = page.getByTestId(`tenant-row-${limited.id}`);
  await expect(limitedRow.getByTestId("tenant-rate-limited")).toHaveText(String(expected.rate_limited));
  await expect(limitedRow).toContainText("incident-limited");
  // Requests no provider answered have a line of their own; the primary's breaker is open.
  await expect(page.getByRole("figure").filter({ has: page.getByRole("img", { name: "Error rate per provider" }) })).toContainText("no provider");
  const breakerRow = page.getByRole("table", { name: "Circuit breakers" }).getByRole("row").filter({ hasText: "incident-primary" });
  await expect(breakerRow).toContainText("Open");
  await expect(page.getByRole("table", { name: "Circuit breakers" })).toContainText("Half-opens in");
  await shot(page, "30-incident-overview");

  // The request log lists exactly the overview's numbers, outcome by outcome.
  for (const outcome of OUTCOMES) {
    expect(await logRows(page, `${window}&outcome=${outcome}`), `log rows for ${outcome}`).toBe(expected[outcome]);
  }
  // The cut stream is not a green success: the list says "cut", the trace says why.
  await page.goto(`/logs?${window}&outcome=interrupted`);
  const cut = page.getByRole("table", { name: "Requests" }).locator("tbody tr");
  await expect(cut).toContainText("502 cut");
  await shot(page, "31-incident-log-cut-stream");
  await cut.getByRole("link").click();
  await expect(page.getByText("The stream was cut")).toBeVisible();
  await expect(page.getByText("Stream interrupted")).toBeVisible();
  // A request every target failed is not a fallback.
  await page.goto(`/logs?${window}&outcome=failed`);
  await page.getByRole("table", { name: "Requests" }).locator("tbody tr").first().getByRole("link").click();
  await expect(page.getByText("Nothing was served")).toBeVisible();
  await expect(page.getByText("fell back", { exact: true })).toHaveCount(0);

  // Leave the gateway as it was for later specs.
  await admin.patch(`/providers/${backup.id}`, { settings: { ...backup.settings, mock: {} } });
});
