import { ADMIN, expect, login, nav, shot, test } from "./fixtures";

test("create a provider with a secret and a rule that uses it, test it, then delete both", async ({ page }) => {
  await login(page, ADMIN.username, ADMIN.password);
  await nav(page, "Providers").click();
  await page.getByRole("link", { name: "New provider" }).click();
  const form = page.getByRole("form", { name: "New provider" });
  await form.getByLabel("Name").fill("mock-e2e-extra");
  await form.getByLabel("Type").selectOption("mock");
  await form.getByLabel("vision").check();
  await form.getByRole("button", { name: "Add mapping" }).click();
  await form.getByLabel("Requested model 1").fill("e2e-model-large");
  await form.getByLabel("Upstream model 1").fill("mock-large-v2");
  await form.getByLabel("Total timeout (s)").fill("30");
  await form.getByLabel("API key").fill("sk-e2e-not-a-real-key");
  await shot(page, "18-provider-new");
  await form.getByRole("button", { name: "Create provider" }).click();
  await expect(page.getByRole("heading", { name: "mock-e2e-extra" })).toBeVisible();
  await expect(page.getByLabel("Secret status")).toContainText("set");
  await expect(page.getByText("sk-e2e-not-a-real-key")).toHaveCount(0);
  await expect(page.getByLabel("Upstream model 1")).toHaveValue("mock-large-v2");

  await nav(page, "Routing rules").click();
  await page.getByRole("link", { name: "New rule" }).click();
  const rule = page.getByRole("form", { name: "New routing rule" });
  await rule.getByLabel("Name").fill("e2e-extra");
  await rule.getByLabel("Model pattern").fill("e2e-model-*");
  await rule.getByLabel("Target 1 provider").selectOption("mock-e2e-extra");
  await rule.getByRole("button", { name: "Add fallback target" }).click();
  await rule.getByLabel("Target 2 provider").selectOption("mock-text");
  await expect(rule.getByLabel("Target 2 tier")).toHaveValue("1");
  await rule.getByLabel("Hedging delay (ms)").fill("250");
  await shot(page, "19-rule-new");
  await rule.getByRole("button", { name: "Create rule" }).click();
  await expect(page.getByRole("heading", { name: "e2e-extra" })).toBeVisible();

  await page.getByRole("link", { name: "Test this rule" }).click();
  await expect(page.getByRole("heading", { name: "Rule tester" })).toBeVisible();
  await page.getByRole("form", { name: "Sample request" }).getByLabel("Model", { exact: true }).fill("e2e-model-large");
  await page.getByRole("button", { name: "Test route" }).click();
  await expect(page.getByText("Would reach mock-e2e-extra")).toBeVisible();

  // A provider that a rule targets cannot be deleted: the API says why.
  await nav(page, "Providers").click();
  await page.getByRole("link", { name: "mock-e2e-extra" }).click();
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete provider" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Rules still target this provider: e2e-extra" })).toBeVisible();

  await nav(page, "Routing rules").click();
  await page.getByRole("link", { name: "e2e-extra" }).click();
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete rule" }).click();
  await expect(page.getByRole("heading", { name: "Routing rules" })).toBeVisible();
  await expect(page.getByRole("link", { name: "e2e-extra" })).toHaveCount(0);

  await nav(page, "Providers").click();
  await page.getByRole("link", { name: "mock-e2e-extra" }).click();
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete provider" }).click();
  await expect(page.getByRole("heading", { name: "Providers" })).toBeVisible();
  await expect(page.getByRole("link", { name: "mock-e2e-extra" })).toHaveCount(0);
});
