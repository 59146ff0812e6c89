import type { Page } from "@playwright/test";
import { ADMIN, chat, nav, expect, login, logout, shot, test } from "./fixtures";

const VIEWER = { username: "viewer-e2e", password: "viewer-pass-123" };
const WRITE_BUTTON = /^(New |Create|Save|Delete|Revoke|Reset|Apply faults|Clear faults|Set secret|Replace secret|Remove|Add |Use variable|Disable|Enable|Set password)/;

async function expectReadOnly(page: Page, name: string) {
  await expect(page.getByRole("status", { name: /^Loading/ })).toHaveCount(0);
  await expect(page.getByRole("button", { name: WRITE_BUTTON })).toHaveCount(0);
  await expect(page.getByRole("link", { name: /^New / })).toHaveCount(0);
  // Configuration inputs are shown but disabled.
  const configForms = "form[aria-label]:not([aria-label='Filters']):not([aria-label='Sample request'])";
  await expect(page.locator(`${configForms} :is(input, select, textarea):enabled`)).toHaveCount(0);
  await shot(page, name);
}

test("a viewer sees every page and finds no write control", async ({ page, request }) => {
  // Enough traffic for more than one page of logs.
  for (let i = 0; i < 12; i += 1) expect((await chat(request, "demo_key_fake_123456")).status).toBe(200);

  await login(page, ADMIN.username, ADMIN.password);
  await nav(page, "Users").click();
  await expect(page.getByRole("table", { name: "Users" })).toContainText("admin");
  await page.getByLabel("New username").fill(VIEWER.username);
  await page.getByLabel("Initial password").fill(VIEWER.password);
  await page.getByLabel("Role").selectOption("viewer");
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByText(`User ${VIEWER.username} created as viewer.`)).toBeVisible();
  await expect(page.getByRole("table", { name: "Users" })).toContainText(VIEWER.username);
  await shot(page, "14-users");
  await nav(page, "Audit log").click();
  await expect(page.getByRole("table", { name: "Audit entries" })).toContainText("user");
  await page.getByRole("button", { name: "Show" }).first().click();
  await shot(page, "15-audit");
  await logout(page);

  await login(page, VIEWER.username, VIEWER.password);
  await expect(nav(page, "Users")).toHaveCount(0);
  await expect(page.getByText("viewer", { exact: true })).toBeVisible();
  await expectReadOnly(page, "20-viewer-overview");

  await nav(page, "Providers").click();
  await expect(page.getByRole("table", { name: "Providers" })).toBeVisible();
  await expectReadOnly(page, "21-viewer-providers");
  await page.getByRole("link", { name: "mock-text", exact: true }).click();
  await expect(page.getByRole("heading", { name: "mock-text" })).toBeVisible();
  await expectReadOnly(page, "22-viewer-provider");

  await nav(page, "Routing rules").click();
  await expect(page.getByRole("table", { name: "Routing rules" })).toBeVisible();
  await expectReadOnly(page, "23-viewer-rules");
  await page.getByRole("link", { name: "demo-text" }).click();
  await expect(page.getByRole("heading", { name: "demo-text" })).toBeVisible();
  await expectReadOnly(page, "24-viewer-rule");

  await nav(page, "Rule tester").click();
  await page.getByRole("button", { name: "Test route" }).click();
  await expect(page.getByText(/Would reach|No eligible target/)).toBeVisible();
  await expectReadOnly(page, "25-viewer-rule-tester");

  await nav(page, "Tenants & keys").click();
  await expect(page.getByRole("table", { name: "Tenants" })).toContainText("acme-e2e");
  await expectReadOnly(page, "26-viewer-tenants");
  await page.getByRole("link", { name: "acme-e2e" }).click();
  await expect(page.getByRole("table", { name: "API keys" })).toContainText("e2e backend");
  await expectReadOnly(page, "27-viewer-tenant");

  await nav(page, "Request logs").click();
  await expect(page.getByRole("table", { name: "Requests" })).toBeVisible();
  await expectReadOnly(page, "28-viewer-logs");
  // Cursor pagination, kept in the URL.
  await page.getByLabel("Page size").selectOption("10");
  await expect(page).toHaveURL(/limit=10/);
  await expect(page.getByRole("table", { name: "Requests" }).getByRole("row")).toHaveCount(11);
  const newestFirst = await page.getByRole("table", { name: "Requests" }).getByRole("link").first().textContent();
  await page.getByRole("button", { name: "Older" }).click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(page.getByText("Paused on an older page")).toBeVisible();
  await expect(page.getByRole("table", { name: "Requests" }).getByRole("link").first()).not.toHaveText(newestFirst ?? "");
  await page.getByRole("button", { name: "Newest" }).click();
  await expect(page).not.toHaveURL(/cursor=/);
  await expect(page.getByRole("table", { name: "Requests" }).getByRole("link").first()).toHaveText(newestFirst ?? "");
  await page.getByRole("table", { name: "Requests" }).getByRole("link").first().click();
  await expect(page.getByRole("list", { name: "Attempts" })).toBeVisible();
  await expectReadOnly(page, "29-viewer-log");

  await nav(page, "Audit log").click();
  await expect(page.getByRole("table", { name: "Audit entries" })).toBeVisible();
  await expectReadOnly(page, "30-viewer-audit");

  await page.goto("/users");
  await expect(page.getByText("Only an admin can see and manage console users.")).toBeVisible();
  await expectReadOnly(page, "31-viewer-users");

  // The backend refuses a viewer's write anyway.
  const refused = await page.request.post("/api/v1/tenants", { data: { name: "sneaky" }, failOnStatusCode: false });
  expect(refused.status()).toBe(403);
});
