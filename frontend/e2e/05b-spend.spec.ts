import { ADMIN, DEMO_MODEL, expect, login, nav, shot, stack, test } from "./fixtures";
import type { APIRequestContext } from "@playwright/test";

/** A chat completion with max_tokens, as a budgeted client sends it (it bounds the worst case). */
async function capped(request: APIRequestContext, key: string): Promise<{ status: number; body: { error?: { code?: string; message?: string } } }> {
  const response = await request.post(`${stack.gateway}/v1/chat/completions`, {
    headers: { Authorization: `Bearer ${key}` },
    data: { model: DEMO_MODEL, max_tokens: 30, messages: [{ role: "user", content: "How much does this cost?" }] },
    failOnStatusCode: false,
  });
  return { status: response.status(), body: await response.json() };
}

test.setTimeout(180_000); // many pages and a budget run out, on a machine that may be busy

test("spend: a budget reached turns its bar red and refuses the next request; spend charts, costs and prices", async ({ page, request }) => {
  await login(page, ADMIN.username, ADMIN.password);
  await nav(page, "Tenants & keys").click();
  await page.getByRole("button", { name: "New tenant" }).click();
  await page.getByLabel("Tenant name").fill("spend-e2e");
  await page.getByRole("button", { name: "Create tenant" }).click();
  await expect(page.getByRole("heading", { name: "spend-e2e" })).toBeVisible();
  await page.getByLabel("Key name").fill("budgeted key");
  await page.getByRole("button", { name: "Create API key" }).click();
  const key = (await page.getByTestId("new-api-key").textContent())?.trim() ?? "";
  expect(key.length).toBeGreaterThan(20);

  // The tenant's budget, set in the console: $0.0002 a day, refused once reached.
  await page.getByRole("button", { name: "Set a budget" }).first().click();
  const form = page.getByRole("form", { name: "Budget" });
  await form.getByLabel("Amount (USD)").fill("0.0002");
  await form.getByLabel("Period (UTC)").selectOption("day");
  await form.getByRole("button", { name: "Set budget" }).click();
  const bar = page.locator(".budget").first();
  await expect(bar).toContainText("of $0.0002 per day");
  await expect(bar).toHaveAttribute("data-state", "ok");

  // The key and the budget reach the gateway with its next snapshots, maybe not the same one:
  // requests are served until the budget is there too, then refused (the spend the request log
  // already holds for the period counts), within a bound of time rather than of requests.
  let served = 0;
  const deadline = Date.now() + 30_000;
  await expect(async () => {
    const answer = await capped(request, key);
    expect(answer.status).not.toBe(401); // the key reaches the gateway with its next snapshot
  }).toPass({ timeout: 15_000 });
  for (;;) {
    const answer = await capped(request, key);
    if (answer.status === 429) {
      expect(answer.body.error?.code).toBe("insufficient_quota");
      expect(answer.body.error?.message).toContain("$0.0002 per day");
      break;
    }
    expect(answer.status).toBe(200);
    served += 1;
    expect(Date.now(), "the budget refuses within 30 s").toBeLessThan(deadline);
  }
  expect(served).toBeGreaterThan(0);
  const next = await capped(request, key);
  expect(next.status).toBe(429);

  // The 100 % alert is recorded by the gateway's background task; the bar reads it on reload.
  await expect(async () => {
    await page.reload();
    await expect(page.locator(".budget").first()).toHaveAttribute("data-state", "reached", { timeout: 10_000 });
  }).toPass({ timeout: 60_000 });
  await expect(page.locator(".budget").first()).toContainText("reached: requests refused");
  await shot(page, "50-budget-reached");

  await nav(page, "Spend").click();
  await expect(page.getByRole("heading", { name: "Spend", exact: true })).toBeVisible();
  const spenders = page.getByRole("table", { name: "Top spenders" });
  await expect(spenders).toContainText("spend-e2e");
  await expect(page.getByTestId("spend-total")).not.toHaveText("$0.00");
  await expect(page.getByRole("img", { name: "Spend by Tenant" }).locator("path.series, path").first()).toBeVisible();
  await expect(page.getByLabel("Budget of tenant spend-e2e")).toContainText("reached");
  await shot(page, "51-spend-by-tenant");
  await page.getByLabel("Group by").selectOption("model");
  await expect(spenders).toContainText(DEMO_MODEL);
  await shot(page, "52-spend-by-model");
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  const csv = await downloading;
  expect(csv.suggestedFilename()).toMatch(/^routerx-spend-by-model-.*\.csv$/);

  await nav(page, "Request logs").click();
  await page.getByLabel("Tenant", { exact: true }).selectOption({ label: "spend-e2e" });
  const ok = page.getByRole("row").filter({ hasText: "mock-text" }).first();
  await expect(ok).toContainText("$");
  await ok.getByRole("link").click();
  await expect(page.getByTestId("request-cost")).toContainText("$");
  await expect(page.getByRole("list", { name: "Attempts" })).toContainText("$");
  await shot(page, "53-request-cost");

  await page.goto("/spend/prices");
  await page.getByLabel("Filter by model").fill("gpt-4.1-mini");
  const prices = page.getByRole("table", { name: "Prices" });
  await expect(prices).toContainText("$0.40");
  await expect(prices).toContainText("$1.60");
  await shot(page, "54-prices");
});
