import { ADMIN, expect, login, nav, shot, test } from "./fixtures";

test("create a provider from a preset; cloud types ask for their settings", async ({ page }) => {
  await login(page, ADMIN.username, ADMIN.password);
  await nav(page, "Providers").click();
  await page.getByRole("link", { name: "New provider" }).click();
  const form = page.getByRole("form", { name: "New provider" });

  await form.getByLabel("Type").selectOption("bedrock");
  await expect(form.getByLabel("AWS region")).toBeVisible();
  await form.getByLabel("Type").selectOption("vertex");
  await expect(form.getByLabel("Google Cloud project")).toBeVisible();
  await expect(form.getByLabel("Location")).toBeVisible();

  await form.getByLabel("Preset").selectOption({ label: "Groq" });
  await expect(form.getByLabel("Type")).toHaveValue("openai_compatible");
  await expect(form.getByLabel("Base URL")).toHaveValue("https://api.groq.com/openai/v1");
  await expect(form.getByLabel("Name")).toHaveValue("groq");
  await expect(form.getByLabel("tools")).toBeChecked();
  await form.getByLabel("Name").fill("groq-e2e");
  // A provider may name only a ROUTERX_PROVIDER_ variable: the server's own are refused.
  await form.getByLabel("Or environment variable").fill("GROQ_API_KEY");
  await form.getByRole("button", { name: "Create provider" }).click();
  await expect(form.getByText("secret_env must name a variable starting with ROUTERX_PROVIDER_")).toBeVisible();
  await form.getByLabel("Or environment variable").fill("ROUTERX_PROVIDER_GROQ_KEY");
  await shot(page, "30-provider-from-preset");
  await form.getByRole("button", { name: "Create provider" }).click();
  await expect(page.getByRole("heading", { name: "groq-e2e" })).toBeVisible();
  await expect(page.getByLabel("Base URL")).toHaveValue("https://api.groq.com/openai/v1");

  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete provider" }).click();
  await expect(page.getByRole("heading", { name: "Providers" })).toBeVisible();
  await expect(page.getByRole("link", { name: "groq-e2e" })).toHaveCount(0);
});
