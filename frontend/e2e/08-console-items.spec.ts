import { readFileSync } from "node:fs";
import { expect, nav, shot, test } from "./fixtures";
import { adminApi, expectNoHorizontalScroll, gatewayChat, settled, signIn } from "./console-helpers";
import { TEXT_SELECTORS, lowContrast, unlabelledControls } from "./a11y-checks";

const DEMO_KEY = "demo_key_fake_123456";
const DEMO_MODEL = "gpt-4.1-mini";



test("charts: a single bucket's value is drawn, axis text is 12 px, the time zone and hover units show", async ({ page, request }) => {
  await signIn(page);
  const admin = adminApi(page);
  const tenant = await admin.post("/tenants", { name: "chart-single" });
  const key: string = (await admin.post(`/tenants/${tenant.id}/keys`, { name: "chart" })).key;
  await expect(async () => expect((await gatewayChat(request, key, { model: DEMO_MODEL })).status).toBe(200)).toPass({ timeout: 15_000 });
  for (const range of ["1h", "24h", "7d"]) {
    await page.goto(`/?range=${range}&tenant=${tenant.id}`);
    const latency = page.getByRole("img", { name: "Latency per provider" });
    // One request: one bucket with a value and no neighbours; only a marker can show it.
    await expect(latency.locator("circle.chart-marker").first()).toBeVisible();
    const sizes = await latency.evaluate((svg) => {
      const text = svg.querySelector("text")!;
      return { drawn: svg.getBoundingClientRect().width, viewBox: (svg as SVGSVGElement).viewBox.baseVal.width, font: getComputedStyle(text).fontSize };
    });
    expect(Math.abs(sizes.drawn - sizes.viewBox)).toBeLessThanOrEqual(1); // not scaled down
    expect(parseFloat(sizes.font)).toBeGreaterThanOrEqual(11);
  }
  await expect(page.getByText(/^Times in /).first()).toBeVisible();
  const rate = page.getByRole("img", { name: "Request rate per provider" });
  const box = (await rate.boundingBox())!;
  await rate.hover({ position: { x: box.width - 30, y: box.height / 2 } });
  await expect(rate).toContainText("req/min");
  await shot(page, "40-chart-single-bucket");
});

test("custom time range: from/to kept in the URL, refused when backwards", async ({ page }) => {
  await signIn(page);
  await page.goto("/?range=1h");
  await page.getByRole("button", { name: "Custom" }).click();
  await page.getByLabel("From", { exact: true }).fill("2026-01-05T09:00");
  await page.getByLabel("To", { exact: true }).fill("2026-01-05T08:00");
  await page.getByRole("button", { name: "Show range" }).click();
  await expect(page.getByText("The start must be before the end.")).toBeVisible();
  await page.getByLabel("To", { exact: true }).fill("2026-01-05T12:30");
  await page.getByRole("button", { name: "Show range" }).click();
  await expect(page).toHaveURL(/range=custom&from=2026-01-05T\d\d%3A00%3A00.000Z&to=2026-01-05T\d\d%3A30%3A00.000Z|range=custom.*from=.*to=/);
  await page.reload();
  await expect(page.getByRole("button", { name: "Custom" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByLabel("From", { exact: true })).toHaveValue("2026-01-05T09:00");
  await expect(page.getByLabel("To", { exact: true })).toHaveValue("2026-01-05T12:30");
  await expect(page.getByTestId("tile-requests")).toHaveText("0");
  // The request log takes the same window.
  await page.goto(`/logs?${new URL(page.url()).searchParams.toString()}`);
  await expect(page.getByText("No requests match")).toBeVisible();
  await expect(page.getByText("Fixed range")).toBeVisible();
});

test("layout: the sidebar is a drawer below 1024 px; the request log fits at 1280 px", async ({ page, request }) => {
  await signIn(page);
  expect((await gatewayChat(request, DEMO_KEY, { model: DEMO_MODEL, stream: true, requestId: null })).status).toBe(200);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto("/logs");
  await settled(page);
  const fits = await page.locator(".table-wrap").first().evaluate((wrap) => wrap.scrollWidth <= wrap.clientWidth);
  expect(fits, "the request log needs no sideways scroll at 1280 px").toBe(true);
  await expect(page.getByRole("button", { name: "Menu" })).toBeHidden();

  await page.setViewportSize({ width: 800, height: 900 });
  const menu = page.getByRole("button", { name: "Menu" });
  await expect(menu).toBeVisible();
  await expect(nav(page, "Overview")).toBeHidden();
  await menu.click();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await expect(nav(page, "Overview")).toBeVisible();
  await expect(nav(page, "Overview")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(nav(page, "Overview")).toBeHidden();
  await expect(menu).toBeFocused();
  await menu.click();
  await nav(page, "Providers").click();
  await expect(page.getByRole("heading", { name: "Providers" })).toBeVisible();
  await expect(nav(page, "Overview")).toBeHidden(); // a followed link closes the drawer
  await expectNoHorizontalScroll(page, "providers at 800 px");
});

test("dark mode follows the system and the toggle, and the choice is kept", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "dark" });
  await signIn(page);
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await expect.poll(background).toBe("rgb(11, 17, 32)");
  const theme = page.getByRole("group", { name: "Colour theme" });
  await theme.getByRole("button", { name: "Light" }).click();
  await expect.poll(background).toBe("rgb(245, 246, 248)");
  await page.reload();
  await expect.poll(background).toBe("rgb(245, 246, 248)");
  await expect(theme.getByRole("button", { name: "Light" })).toHaveAttribute("aria-pressed", "true");
  await theme.getByRole("button", { name: "Auto" }).click();
  await expect.poll(background).toBe("rgb(11, 17, 32)");
  await page.emulateMedia({ colorScheme: "light" });
  await theme.getByRole("button", { name: "Dark" }).click();
  await expect.poll(background).toBe("rgb(11, 17, 32)");
  await theme.getByRole("button", { name: "Auto" }).click();
});

test("request ids: the distinguishing part, monospace, copied whole on click", async ({ page, request, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signIn(page);
  const admin = adminApi(page);
  const tenant = await admin.post("/tenants", { name: "ids-e2e" });
  const key: string = (await admin.post(`/tenants/${tenant.id}/keys`, { name: "ids" })).key;
  const ids: string[] = [];
  await expect(async () => expect((await gatewayChat(request, key, { model: DEMO_MODEL, requestId: null })).status).toBe(200)).toPass({ timeout: 15_000 });
  for (let i = 0; i < 3; i += 1) ids.push((await gatewayChat(request, key, { model: DEMO_MODEL, requestId: null })).requestId);
  expect(ids[0]!.length).toBeGreaterThan(16);
  await page.goto(`/logs?tenant=${tenant.id}`);
  const links = page.getByRole("table", { name: "Requests" }).getByRole("link");
  await expect(links).toHaveCount(4);
  const shown = await links.allTextContents();
  expect(new Set(shown).size).toBe(4);
  for (const text of shown) {
    expect(text.startsWith("…")).toBe(true);
    expect(text.length).toBeLessThanOrEqual(11);
  }
  const font = await links.first().evaluate((link) => getComputedStyle(link).fontFamily);
  expect(font).toMatch(/mono/i);
  await page.getByRole("button", { name: `Copy request id ${ids[2]}` }).click();
  await expect(page.getByRole("button", { name: `Copy request id ${ids[2]}` })).toContainText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(ids[2]);
  await expect(page.getByRole("link", { name: ids[1]! })).toHaveAttribute("href", `/logs/${ids[1]}`);
});

test("request log: search by id, model prefix, sortable columns, CSV and JSON export of the filtered set", async ({ page, request }) => {
  test.setTimeout(120_000);
  await signIn(page);
  const admin = adminApi(page);
  const tenant = await admin.post("/tenants", { name: "search-e2e" });
  const key: string = (await admin.post(`/tenants/${tenant.id}/keys`, { name: "search" })).key;
  await expect(async () => expect((await gatewayChat(request, key, { model: DEMO_MODEL, requestId: "search-warmup" })).status).toBe(200)).toPass({ timeout: 15_000 });
  for (let i = 0; i < 4; i += 1) expect((await gatewayChat(request, key, { model: DEMO_MODEL, requestId: `search-gpt-${i}` })).status).toBe(200);
  for (let i = 0; i < 2; i += 1) expect((await gatewayChat(request, key, { model: "claude-sonnet-4", requestId: `search-claude-${i}` })).status).toBe(200);
  await page.goto(`/logs?tenant=${tenant.id}`);
  const rows = page.getByRole("table", { name: "Requests" }).locator("tbody tr");
  await expect(rows).toHaveCount(7);

  await page.getByRole("textbox", { name: "Request ID" }).fill("gpt-2");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(/request_id=gpt-2/);
  await expect(rows).toHaveCount(1);
  await expect(rows).toContainText("search-gpt-2");
  await page.getByRole("textbox", { name: "Request ID" }).fill("");
  await page.getByLabel("Model").fill("claude");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText("claude-sonnet-4");
  await page.getByLabel("Model").fill("gpt-4");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(rows).toHaveCount(5);

  const latencyHeader = page.getByRole("columnheader", { name: /^Sort by latency/ });
  await latencyHeader.getByRole("button").click();
  await expect(latencyHeader).toHaveAttribute("aria-sort", "descending");
  await expect(page).toHaveURL(/sort=-latency_ms/);
  const latencies = async () => (await rows.locator("td:nth-child(7)").allTextContents()).map((text) => parseFloat(text.replace(/[^0-9.]/g, "")) * (text.includes(" s") ? 1000 : 1));
  await expect(async () => {
    const values = await latencies();
    expect(values).toEqual([...values].sort((a, b) => b - a));
  }).toPass();
  await latencyHeader.getByRole("button").click();
  await expect(latencyHeader).toHaveAttribute("aria-sort", "ascending");
  await expect(async () => {
    const values = await latencies();
    expect(values).toEqual([...values].sort((a, b) => a - b));
  }).toPass();

  const [csvDownload] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  const csv = readFileSync((await csvDownload.path())!, "utf8").trim().split(/\r?\n/);
  expect(csv[0]).toMatch(/^request_id,created_at,tenant_id,key_id,model,/);
  expect(csv[0]).not.toContain("attempts,");
  expect(csv).toHaveLength(6); // the header and the 5 gpt-4 requests
  expect(csv.slice(1).every((line) => line.includes("gpt-4.1-mini"))).toBe(true);
  const [jsonDownload] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export JSON" }).click()]);
  const exported = JSON.parse(readFileSync((await jsonDownload.path())!, "utf8")) as { client_request_id: string; latency_ms: number; outcome: string }[];
  expect(exported.map((row) => row.client_request_id).sort()).toEqual(["search-gpt-0", "search-gpt-1", "search-gpt-2", "search-gpt-3", "search-warmup"]);
  expect(exported.map((row) => row.latency_ms)).toEqual([...exported.map((row) => row.latency_ms)].sort((a, b) => a - b));
  expect(new Set(exported.map((row) => row.outcome))).toEqual(new Set(["success"]));
  await shot(page, "41-logs-search-sort");
});

test("forms: the header reloads after save, status next to the button with focus, unsaved edits ask first, plain-word errors, no prompt()", async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page);
  const admin = adminApi(page);
  const rule = await admin.post("/rules", { name: "e2e-form-rule", model_pattern: "form-model-*", capability: "text", targets: [{ provider: "mock-text", weight: 1, tier: 0 }] });
  const tenant = await admin.post("/tenants", { name: "form-tenant" });
  page.on("dialog", (dialog) => {
    if (dialog.type() === "prompt") throw new Error("a browser prompt() was used");
  });

  await page.goto(`/rules/${rule.id}`);
  await page.getByRole("form", { name: "Routing rule" }).getByLabel("Name", { exact: true }).fill("e2e-form-rule-renamed");
  await page.getByRole("button", { name: "Save rule" }).click();
  const ruleStatus = page.getByRole("status").filter({ hasText: "Saved. The gateway routes by it within two seconds." });
  await expect(ruleStatus).toBeFocused();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("e2e-form-rule-renamed");
  await expect(page).toHaveTitle("e2e-form-rule-renamed · RouterX Console");

  await page.goto(`/tenants/${tenant.id}`);
  await expect(page.locator(".page-actions")).toContainText("active");
  const settings = page.getByRole("form", { name: "Tenant settings" });
  await settings.getByLabel("Status").selectOption("disabled");
  // Leaving with unsaved edits asks first; staying keeps the edit.
  let asked = "";
  page.once("dialog", (dialog) => {
    asked = dialog.message();
    void dialog.dismiss();
  });
  await nav(page, "Overview").click();
  expect(asked).toContain("unsaved changes");
  await expect(page).toHaveURL(new RegExp(`/tenants/${tenant.id}$`));
  await settings.getByRole("button", { name: "Save tenant" }).click();
  await expect(settings.getByRole("status").filter({ hasText: "Saved." })).toBeFocused();
  await expect(page.locator(".page-actions")).toContainText("disabled");
  await nav(page, "Overview").click(); // saved: no question
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  await page.goto(`/tenants/${tenant.id}`);
  await page.getByLabel("Key name").fill("k".repeat(101));
  await page.getByRole("button", { name: "Create API key" }).click();
  await expect(page.getByText("At most 100 characters.")).toBeVisible();
  await expect(page.getByText(/Expected `str`/)).toHaveCount(0);

  await nav(page, "Users").click();
  await page.getByLabel("New username").fill("pw-e2e");
  await page.getByLabel("Initial password").fill("pw-e2e-pass-1");
  await page.getByRole("button", { name: "Create user" }).click();
  const row = page.getByRole("table", { name: "Users" }).getByRole("row").filter({ hasText: "pw-e2e" });
  await row.getByRole("button", { name: "Set password" }).click();
  const form = page.getByRole("form", { name: "New password for pw-e2e" });
  await form.getByLabel("New password for pw-e2e").fill("short");
  await form.getByRole("button", { name: "Save password" }).click();
  await expect(form.getByRole("alert")).toHaveText("At least 12 characters.");
  await expect(form.getByRole("alert")).toBeFocused();
  await form.getByLabel("New password for pw-e2e").fill("pw-e2e-pass-2");
  await form.getByRole("button", { name: "Save password" }).click();
  await expect(form.getByRole("status")).toContainText("Saved.");
});

test("API keys: edit name and limits, expiry, rotate with a grace period, delete", async ({ page, request }) => {
  await signIn(page);
  const admin = adminApi(page);
  const tenant = await admin.post("/tenants", { name: "keys-e2e" });
  await page.goto(`/tenants/${tenant.id}`);
  await page.getByLabel("Key name").fill("svc");
  await page.getByRole("button", { name: "Create API key" }).click();
  const oldKey = ((await page.getByTestId("new-api-key").textContent()) ?? "").trim();
  await page.getByRole("button", { name: "I have stored it" }).click();
  const keys = page.getByRole("table", { name: "API keys" });

  await page.getByRole("button", { name: "Edit key svc" }).click();
  const edit = page.getByRole("form", { name: "Edit key svc" });
  await edit.getByLabel("Name").fill("svc-main");
  await edit.getByLabel("RPM limit").fill("120");
  await edit.getByLabel("Expires").fill("2099-06-01T12:00");
  await edit.getByRole("button", { name: "Save key" }).click();
  await expect(edit.getByRole("status")).toBeFocused();
  const row = keys.getByRole("row").filter({ hasText: "svc-main" });
  await expect(row).toContainText("120");
  await expect(row).toContainText(/expires .*2099/);
  await edit.getByRole("button", { name: "Close" }).click();

  await expect(async () => expect((await gatewayChat(request, oldKey, { model: DEMO_MODEL })).status).toBe(200)).toPass({ timeout: 15_000 });
  await page.getByRole("button", { name: "Rotate key svc-main" }).click();
  const rotate = page.getByRole("form", { name: "Rotate key svc-main" });
  await rotate.getByLabel("Grace period").selectOption({ label: "1 hour" });
  await rotate.getByRole("button", { name: "Rotate key" }).click();
  await expect(page.getByRole("region", { name: "New API key" })).toContainText("Rotated. Copy the new key now");
  const newKey = ((await page.getByTestId("new-api-key").textContent()) ?? "").trim();
  expect(newKey).not.toBe(oldKey);
  await expect(keys.getByRole("row").filter({ hasText: "rotated" })).toHaveCount(1);
  // Both work during the grace period.
  await expect(async () => expect((await gatewayChat(request, newKey, { model: DEMO_MODEL })).status).toBe(200)).toPass({ timeout: 15_000 });
  expect((await gatewayChat(request, oldKey, { model: DEMO_MODEL })).status).toBe(200);
  await shot(page, "42-keys-rotated");

  // Rotating the new key without a grace period ends it now: the gateway refuses it.
  await page.getByRole("button", { name: "I have stored it" }).click();
  const current = keys.getByRole("row").filter({ hasText: "svc-main" }).filter({ hasNotText: "rotated" });
  await expect(current).toHaveCount(1);
  const rotateButtons = page.getByRole("button", { name: "Rotate key svc-main" });
  await rotateButtons.first().click();
  await page.getByRole("form", { name: "Rotate key svc-main" }).getByLabel("Grace period").selectOption({ label: "none: stop the old key now" });
  await page.getByRole("form", { name: "Rotate key svc-main" }).getByRole("button", { name: "Rotate key" }).click();
  await expect(keys.getByRole("row").filter({ hasText: "expired" })).toHaveCount(1);
  await expect(async () => expect((await gatewayChat(request, newKey, { model: DEMO_MODEL })).status).toBe(401)).toPass({ timeout: 15_000 });

  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete key svc-main" }).first().click();
  await expect(keys.getByRole("row")).toHaveCount(3); // the header and two keys left
});

test("rule tester: a glob rule's example model, and the tenant's allowed models refusing it", async ({ page }) => {
  await signIn(page);
  const admin = adminApi(page);
  await admin.post("/tenants", { name: "tester-e2e", allowed_models: ["gpt-4.1-*"] });
  await nav(page, "Routing rules").click();
  await page.getByRole("link", { name: "demo-claude-text" }).click();
  await page.getByRole("link", { name: "Test this rule" }).click();
  await expect(page.getByRole("heading", { name: "Rule tester" })).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Model", exact: true })).toHaveValue("claude-example");
  await expect(page.getByTestId("example-note")).toContainText("claude-*");
  await page.getByRole("button", { name: "Test route" }).click();
  await expect(page.getByLabel("Matched rule")).toContainText("demo-claude-text");
  await page.getByLabel("Tenant").selectOption({ label: "tester-e2e" });
  await page.getByRole("button", { name: "Test route" }).click();
  await expect(page.getByLabel("Matched rule")).toHaveText("Refused by the tenant's allowed models");
  await expect(page.getByRole("region", { name: "Result" }).getByRole("alert")).toContainText("gpt-4.1-*");
  await shot(page, "43-tester-refused");
});

test("audit: resource names and a field-level diff; the breaker column says half-opens", async ({ page }) => {
  await signIn(page);
  await nav(page, "Audit log").click();
  await page.getByLabel("Resource").selectOption("routing_rule");
  const entry = page.getByRole("table", { name: "Audit entries" }).getByRole("row").filter({ hasText: "update" }).filter({ hasText: "e2e-form-rule-renamed" });
  await expect(entry.first()).toBeVisible();
  await entry.first().getByRole("button", { name: "Show" }).click();
  const diff = page.getByRole("table", { name: /^Changes of routing rule/ });
  const nameRow = diff.getByRole("row").filter({ has: page.getByRole("rowheader", { name: "name", exact: true }) });
  await expect(nameRow).toContainText("e2e-form-rule");
  await expect(nameRow.locator(".diff-after")).toHaveText("e2e-form-rule-renamed");
  await expect(diff.getByRole("rowheader", { name: "model_pattern" })).toHaveCount(0); // unchanged fields are left out
  await shot(page, "44-audit-diff");
  await nav(page, "Overview").click();
  await expect(page.getByRole("table", { name: "Circuit breakers" }).getByRole("columnheader", { name: "Half-opens in" })).toBeVisible();
});

test("accessibility: a title per page, favicon, skip link, labelled controls, contrast, visible focus", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page);
  const titles = new Map<string, string>();
  for (const path of ["/", "/logs", "/providers", "/rules", "/rules/tester", "/tenants", "/audit", "/users", "/account"]) {
    await page.goto(path);
    await settled(page);
    await expect(page).toHaveTitle(/ · RouterX Console$/);
    titles.set(path, await page.title());
    expect(await unlabelledControls(page), `unlabelled controls on ${path}`).toEqual([]);
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await lowContrast(page, TEXT_SELECTORS), `low contrast on ${path} (${scheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: "light" });
  }
  expect(new Set(titles.values()).size).toBe(titles.size);

  const icon = await page.locator("link[rel~='icon']").first().getAttribute("href");
  expect(icon).toBeTruthy();
  expect((await page.request.get(new URL(icon!, page.url()).toString())).status()).toBe(200);

  await page.goto("/providers");
  await settled(page);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(page.locator("#main-content")).toBeFocused();
  await page.keyboard.press("Tab");
  const outline = await page.evaluate(() => {
    const element = document.activeElement as HTMLElement;
    const style = getComputedStyle(element);
    return { tag: element.tagName, outline: style.outlineStyle, width: style.outlineWidth };
  });
  expect(outline.outline).not.toBe("none");
  expect(parseFloat(outline.width)).toBeGreaterThanOrEqual(2);
});
