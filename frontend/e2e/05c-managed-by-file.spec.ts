import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ADMIN, expect, login, nav, shot, test } from "./fixtures";

const ROUTERX = path.resolve(__dirname, "..", "..", "backend", ".venv", "bin", "routerx");
const FILE = `version: 1
providers:
  - name: file-mock
    type: mock
    capabilities: [text]
rules:
  - name: file-rule
    model_pattern: file-model
    targets: [{provider: file-mock}]
tenants:
  - name: file-tenant
    rpm_limit: 100
`;

function applyFile(): void {
  const directory = mkdtempSync(path.join(tmpdir(), "routerx-e2e-file-"));
  const file = path.join(directory, "team.yaml");
  writeFileSync(file, FILE);
  const databaseUrl = process.env.E2E_DATABASE_URL;
  if (!databaseUrl) throw new Error("E2E_DATABASE_URL is not set: run the suite with `npm run e2e`.");
  const result = spawnSync(ROUTERX, ["config", "apply", file], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "WARNING" },
    encoding: "utf8",
  });
  expect(result.status, result.stderr).toBe(0);
}

test("resources from a configuration file show the badge and no edit controls", async ({ page }) => {
  applyFile();
  await login(page, ADMIN.username, ADMIN.password);

  await nav(page, "Providers").click();
  await page.getByRole("link", { name: "file-mock" }).first().click();
  await expect(page.getByRole("heading", { name: "file-mock" })).toBeVisible();
  await expect(page.getByText("managed by file", { exact: true })).toBeVisible();
  await expect(page.getByText("Managed by a configuration file")).toBeVisible();
  await expect(page.getByRole("button", { name: "Delete provider" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Save changes" })).toHaveCount(0);
  await expect(page.getByLabel("Name", { exact: true })).toBeDisabled();
  await shot(page, "30-managed-provider");

  await nav(page, "Routing rules").click();
  await page.getByRole("link", { name: "file-rule" }).first().click();
  await expect(page.getByText("managed by file", { exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Delete rule" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Save rule" })).toHaveCount(0);

  await nav(page, "Tenants & keys").click();
  await page.getByRole("link", { name: "file-tenant" }).first().click();
  await expect(page.getByText("managed by file", { exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Delete tenant" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Save tenant" })).toHaveCount(0);
  await shot(page, "31-managed-tenant");
});
