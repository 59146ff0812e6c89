import { ADMIN, nav, chat, expect, login, shot, test } from "./fixtures";

const DEMO_KEY = "demo_key_fake_123456";

test("change a routing rule, see validation next to the field, and the next request follow the rule", async ({ page, request }) => {
  await login(page, ADMIN.username, ADMIN.password);
  await nav(page, "Routing rules").click();
  await expect(page.getByRole("table", { name: "Routing rules" })).toContainText("demo-vision");
  await shot(page, "06-rules");
  await page.getByRole("link", { name: "demo-text" }).click();
  await expect(page.getByRole("heading", { name: "demo-text" })).toBeVisible();
  await expect(page.getByLabel("Target 1 provider")).toHaveValue("mock-text");
  await expect(page.getByLabel("Target 2 provider")).toHaveValue("mock-text-backup");

  // An invalid weight: the API's error is shown next to that field.
  await page.getByLabel("Target 1 weight").fill("0");
  await page.getByRole("button", { name: "Save rule" }).click();
  await expect(page.getByLabel("Target 1 weight")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Must be at least 1.")).toBeVisible();
  await shot(page, "07-rule-validation");

  // Make the backup the primary.
  await page.getByLabel("Target 1 weight").fill("1");
  await page.getByLabel("Target 1 tier").fill("1");
  await page.getByLabel("Target 2 tier").fill("0");
  await page.getByRole("button", { name: "Save rule" }).click();
  await expect(page.getByText("Saved. The gateway routes by it within two seconds.")).toBeVisible();
  await expect(page.getByLabel("Target 1 weight")).not.toHaveAttribute("aria-invalid", "true");

  // The next requests follow the rule once the gateway has the change.
  await expect(async () => {
    const answer = await chat(request, DEMO_KEY);
    expect(answer.status).toBe(200);
    expect(answer.provider).toBe("mock-text-backup");
  }).toPass({ timeout: 15_000 });

  // The rule tester says the same, and why.
  await page.getByRole("link", { name: "Test this rule" }).click();
  await expect(page.getByRole("heading", { name: "Rule tester" })).toBeVisible();
  await page.getByLabel("Tenant").selectOption({ label: "demo" });
  await page.getByRole("button", { name: "Test route" }).click();
  await expect(page.getByText("Would reach mock-text-backup")).toBeVisible();
  await expect(page.getByLabel("Matched rule")).toContainText("demo-text");
  await expect(page.getByRole("table", { name: "Targets in order" })).toContainText("mock-text");
  await shot(page, "08-rule-tester");

  // Put the rule back: mock-text primary again.
  await page.goto("/rules");
  await page.getByRole("link", { name: "demo-text" }).click();
  await page.getByLabel("Target 1 tier").fill("0");
  await page.getByLabel("Target 2 tier").fill("1");
  await page.getByRole("button", { name: "Save rule" }).click();
  await expect(page.getByText("Saved. The gateway routes by it within two seconds.")).toBeVisible();
  await shot(page, "09-rule-edit");
  await expect(async () => {
    const answer = await chat(request, DEMO_KEY);
    expect(answer.provider).toBe("mock-text");
  }).toPass({ timeout: 15_000 });
});
