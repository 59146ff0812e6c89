import path from "node:path";
import type { APIRequestContext, Page } from "@playwright/test";
import { ARTIFACTS, expect, test } from "./fixtures";
import { adminApi, expectNoHorizontalScroll, expectNoOverlappingControls, gatewayChat, settled, signIn } from "./console-helpers";

// Every page at a laptop and a phone size, light and dark: no sideways page scroll anywhere, no
// control drawn over another, and a screenshot of each in e2e/artifacts/screens/ to look at.

const SIZES = [
  { name: "1280", width: 1280, height: 800 },
  { name: "390", width: 390, height: 844 },
] as const;
const SCHEMES = ["light", "dark"] as const;

async function pagesToVisit(page: Page, request: APIRequestContext): Promise<[string, string][]> {
  const admin = adminApi(page);
  const answer = await gatewayChat(request, "demo_key_fake_123456", { model: "gpt-4.1-mini", requestId: null });
  expect(answer.status).toBe(200);
  const provider = (await admin.get("/providers?limit=1")).data[0];
  const rule = (await admin.get("/rules?limit=1")).data[0];
  const tenant = (await admin.get("/tenants?limit=1")).data[0];
  return [
    ["overview", "/"],
    ["overview-custom", `/?range=custom&from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}&to=${encodeURIComponent(new Date().toISOString())}`],
    ["logs", "/logs"],
    ["log-detail", `/logs/${encodeURIComponent(answer.requestId)}`],
    ["providers", "/providers"],
    ["provider", `/providers/${provider.id}`],
    ["provider-new", "/providers/new"],
    ["rules", "/rules"],
    ["rule", `/rules/${rule.id}`],
    ["rule-new", "/rules/new"],
    ["tester", "/rules/tester"],
    ["tenants", "/tenants"],
    ["tenant", `/tenants/${tenant.id}`],
    ["spend", "/spend"],
    ["prices", "/spend/prices"],
    ["audit", "/audit"],
    ["users", "/users"],
    ["account", "/account"],
  ];
}

for (const scheme of SCHEMES) {
  for (const size of SIZES) {
    test(`every page at ${size.name} px, ${scheme}: no sideways scroll, no overlapping controls, a screenshot each`, async ({ page, request }) => {
      test.setTimeout(240_000);
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width: size.width, height: size.height });
      await signIn(page);
      for (const [name, url] of await pagesToVisit(page, request)) {
        await page.goto(url);
        await settled(page);
        await expect(page.locator("h1").first()).toBeVisible();
        await expectNoHorizontalScroll(page, `${name} at ${size.name} (${scheme})`);
        await expectNoOverlappingControls(page, `${name} at ${size.name} (${scheme})`);
        await page.screenshot({ path: path.join(ARTIFACTS, "screens", `${name}-${size.name}-${scheme}.png`), fullPage: true });
      }
      if (size.name === "390") {
        // The drawer open on a phone.
        await page.goto("/");
        await page.getByRole("button", { name: "Menu" }).click();
        await expect.poll(() => page.evaluate(() => getComputedStyle(document.querySelector(".sidebar")!).transform)).toBe("none");
        await page.screenshot({ path: path.join(ARTIFACTS, "screens", `drawer-390-${scheme}.png`) });
        // The sign-in page, signed out.
        const context = await page.context().browser()!.newContext({ viewport: { width: size.width, height: size.height }, colorScheme: scheme });
        const signedOut = await context.newPage();
        await signedOut.goto(new URL("/login", page.url()).toString());
        await expect(signedOut.getByRole("heading", { name: "Sign in" })).toBeVisible();
        await expectNoHorizontalScroll(signedOut, `login at 390 (${scheme})`);
        await expectNoOverlappingControls(signedOut, `login at 390 (${scheme})`);
        await signedOut.screenshot({ path: path.join(ARTIFACTS, "screens", `login-390-${scheme}.png`), fullPage: true });
        await context.close();
      }
    });
  }
}
