import { ADMIN, nav, chat, expect, login, shot, test, type ChatAnswer } from "./fixtures";

const DEMO_KEY = "demo_key_fake_123456";

test("inject a fault on the primary: the fallback shows in the trace and the breaker opens on the overview", async ({ page, request }) => {
  await login(page, ADMIN.username, ADMIN.password);
  await nav(page, "Providers").click();
  await expect(page.getByRole("table", { name: "Providers" })).toContainText("mock-text-backup");
  await shot(page, "10-providers");
  await page.getByRole("link", { name: "mock-text", exact: true }).click();
  await expect(page.getByRole("heading", { name: "mock-text" })).toBeVisible();
  await expect(page.getByLabel("Secret status")).toContainText("not set");

  // A breaker that opens after two failures in a row, so the rehearsal is quick.
  const config = page.getByRole("form", { name: "Provider settings" });
  await config.getByLabel("Consecutive failures").fill("2");
  await config.getByLabel("Minimum calls").fill("2");
  await config.getByLabel("Open for (s)").fill("60");
  await config.getByRole("button", { name: "Save changes" }).click();
  await expect(config.getByText("Saved. The gateway picks the change up within two seconds.")).toBeVisible();

  const faults = page.getByRole("form", { name: "Fault injection" });
  await faults.getByLabel("Error status").fill("503");
  await faults.getByRole("button", { name: "Apply faults" }).click();
  await expect(faults.getByText("Faults applied.")).toBeVisible();
  await expect(page.getByText("Faults active")).toBeVisible();
  await shot(page, "11-provider-faults");

  // Requests now fail over to the secondary.
  let fellBack: ChatAnswer | undefined;
  await expect(async () => {
    const answer = await chat(request, DEMO_KEY);
    expect(answer.status).toBe(200);
    expect(answer.provider).toBe("mock-text-backup");
    expect(answer.attempts).not.toBeNull();
    fellBack = answer;
  }).toPass({ timeout: 15_000 });

  await page.goto(`/logs/${encodeURIComponent(fellBack!.requestId)}`);
  const trace = page.getByRole("list", { name: "Attempts" });
  await expect(trace.getByRole("listitem").first()).toHaveAccessibleName(/^Attempt 1: mock-text failed/);
  await expect(trace.getByRole("listitem").last()).toHaveAccessibleName(/mock-text-backup success$/);
  await expect(trace).toContainText("HTTP 503");
  await expect(page.getByText("fell back")).toBeVisible();
  await shot(page, "12-log-fallback-trace");

  // Enough failures open the primary's breaker: the overview shows it live.
  await nav(page, "Overview").click();
  const breakerRow = page.getByRole("table", { name: "Circuit breakers" }).getByRole("row").filter({ has: page.getByRole("list", { name: "Targets of mock-text", exact: true }) });
  await expect(async () => {
    await chat(request, DEMO_KEY);
    await expect(breakerRow).toContainText("Open", { timeout: 4_000 });
  }).toPass({ timeout: 30_000 });
  await shot(page, "13-overview-breaker-open");

  // The rule tester explains the skip.
  await page.goto("/rules/tester");
  await page.getByRole("button", { name: "Test route" }).click();
  await expect(page.getByText("Would reach mock-text-backup")).toBeVisible();

  // Clear the faults and reset the breaker from the console.
  await nav(page, "Providers").click();
  await page.getByRole("link", { name: "mock-text", exact: true }).click();
  await page.getByRole("form", { name: "Fault injection" }).getByRole("button", { name: "Clear faults" }).click();
  await expect(page.getByText("No faults")).toBeVisible();
  await page.getByRole("button", { name: "Reset breaker of mock-text" }).click();
  await nav(page, "Overview").click();
  await expect(breakerRow).toContainText("Closed");
  await expect(async () => {
    const answer = await chat(request, DEMO_KEY);
    expect(answer.provider).toBe("mock-text");
  }).toPass({ timeout: 15_000 });
});
