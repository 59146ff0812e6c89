import { ADMIN, expect, login, shot, stack, test } from "./fixtures";

test("pages carry the security headers", async ({ request }) => {
  const page = await request.get(`${stack.console}/login`);
  const headers = page.headers();
  const csp = headers["content-security-policy"] ?? "";
  expect(csp).toContain("default-src 'self'");
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("unsafe-eval");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("same-origin");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["x-powered-by"]).toBeUndefined();
  // Each page view has its own nonce.
  const again = (await request.get(`${stack.console}/login`)).headers()["content-security-policy"];
  expect(again).not.toBe(csp);
  // The API answers come through the same origin, with the session cookie kept httpOnly.
  const api = await request.post(`${stack.console}/api/v1/auth/login`, { data: ADMIN });
  expect(api.status()).toBe(200);
  const cookie = api.headers()["set-cookie"] ?? "";
  expect(cookie).toContain("routerx_session=");
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=lax/i);
});

test("sign in: a clear error for a wrong password, then the console with the default-password banner", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await shot(page, "01-login");

  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Wrong username or password" })).toBeVisible();
  await shot(page, "01-login-wrong-password");

  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const banner = page.getByRole("alert").filter({ hasText: "default password" });
  await expect(banner).toBeVisible();
  await expect(banner.getByRole("link", { name: "Change the password" })).toHaveAttribute("href", "/account");
  await expect(page.getByRole("table", { name: "Circuit breakers" })).toBeVisible();
  await expect(page.getByRole("img", { name: "Request rate per provider" })).toBeVisible();
  await shot(page, "02-overview");

  // The range is kept in the URL.
  await page.getByRole("button", { name: "24 h" }).click();
  await expect(page).toHaveURL(/range=24h/);
  await expect(page.getByRole("button", { name: "24 h" })).toHaveAttribute("aria-pressed", "true");
  await page.getByLabel("Tenant").selectOption({ label: "demo" });
  await expect(page).toHaveURL(/tenant=1/);
  await expect(page).toHaveURL(/range=24h/);
  await expect(page.getByRole("img", { name: "Request rate per provider" })).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.goto("/providers");
  await expect(page).toHaveURL(/\/login\?next=%2Fproviders/);
  await login(page, ADMIN.username, ADMIN.password);
});
