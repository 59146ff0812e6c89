import { ADMIN, nav, chat, expect, login, shot, test, type ChatAnswer } from "./fixtures";

test("create a tenant and a key, call the gateway with it, find the request and its route trace", async ({ page, request }) => {
  await login(page, ADMIN.username, ADMIN.password);
  await nav(page, "Tenants & keys").click();
  await expect(page.getByRole("table", { name: "Tenants" })).toContainText("demo");
  await page.getByRole("button", { name: "New tenant" }).click();
  await page.getByLabel("Tenant name").fill("acme-e2e");
  await page.getByLabel("Requests per minute (RPM)").fill("600");
  await page.getByLabel("Tokens per minute (TPM)").fill("200000");
  await page.getByLabel("Max concurrent requests", { exact: true }).fill("8");
  await page.getByLabel("Allowed models").fill("gpt-4.1-*");
  await page.getByRole("button", { name: "Create tenant" }).click();
  await expect(page.getByRole("heading", { name: "acme-e2e" })).toBeVisible();
  await expect(page.getByLabel("Max concurrent requests", { exact: true })).toHaveValue("8");
  const tenantId = page.url().split("/").pop();

  await expect(page.getByText("This tenant cannot call the gateway until it has a key.")).toBeVisible();
  await page.getByLabel("Key name").fill("e2e backend");
  await page.getByLabel("Key max concurrent requests").fill("4");
  await page.getByRole("button", { name: "Create API key" }).click();
  const shown = page.getByRole("region", { name: "New API key" });
  await expect(shown).toContainText("it will not be shown again");
  await expect(shown.getByRole("button", { name: "Copy key" })).toBeVisible();
  const key = (await page.getByTestId("new-api-key").textContent())?.trim() ?? "";
  expect(key.length).toBeGreaterThan(20);
  const keys = page.getByRole("table", { name: "API keys" });
  await expect(keys).toContainText("e2e backend");
  await expect(keys).not.toContainText(key);
  await shot(page, "03-tenant-new-key");

  // The gateway picks up the new key within its config poll; retry until it answers.
  let answer: ChatAnswer | undefined;
  await expect(async () => {
    answer = await chat(request, key);
    expect(answer.status).toBe(200);
  }).toPass({ timeout: 15_000 });
  expect(answer?.provider).toBe("mock-text");
  const requestId = answer!.requestId;

  // The request appears in the logs, filtered by the tenant (the filter is kept in the URL).
  await nav(page, "Request logs").click();
  await expect(page.getByRole("heading", { name: "Request logs" })).toBeVisible();
  await page.getByLabel("Tenant", { exact: true }).selectOption({ label: "acme-e2e" });
  await expect(page).toHaveURL(new RegExp(`tenant=${tenantId}`));
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: requestId.slice(0, 14) }) });
  await expect(row).toBeVisible();
  await expect(row).toContainText("mock-text");
  await expect(row).toContainText("200");
  await page.getByLabel("Provider", { exact: true }).selectOption("mock-text");
  await expect(page).toHaveURL(/provider=mock-text/);
  await expect(row).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Tenant", { exact: true })).toHaveValue(tenantId ?? "");
  await expect(row).toBeVisible();
  await shot(page, "04-logs");

  await row.getByRole("link").click();
  await expect(page.getByRole("heading", { name: "Request" })).toBeVisible();
  const trace = page.getByRole("list", { name: "Attempts" });
  await expect(trace.getByRole("listitem")).toHaveCount(1);
  await expect(trace.getByRole("listitem", { name: "Attempt 1: mock-text success" })).toBeVisible();
  await shot(page, "05-log-trace");

  // Revoke the key: the gateway refuses it from then on.
  await page.goto(`/tenants/${tenantId}`);
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Revoke key e2e backend" }).click();
  await expect(page.getByRole("table", { name: "API keys" })).toContainText("revoked");
  await expect(async () => {
    const refused = await chat(request, key);
    expect(refused.status).toBe(401);
  }).toPass({ timeout: 15_000 });
});
