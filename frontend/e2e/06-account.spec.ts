import { ADMIN, nav, expect, login, shot, test } from "./fixtures";

test("change the default password from the banner; the banner goes away", async ({ page }) => {
  await login(page, ADMIN.username, ADMIN.password);
  await page.getByRole("link", { name: "Change the password" }).click();
  await expect(page.getByRole("heading", { name: "Account" })).toBeVisible();
  await shot(page, "16-account");
  const form = page.getByRole("form", { name: "Change password" });
  await form.getByLabel("Current password").fill("wrong-current");
  await form.getByLabel("New password", { exact: true }).fill("a-new-admin-pass-1");
  await form.getByLabel("Repeat new password").fill("a-new-admin-pass-1");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByLabel("Current password")).toHaveAttribute("aria-invalid", "true");
  await expect(form.getByText("The current password is not correct.")).toBeVisible();

  await form.getByLabel("Current password").fill(ADMIN.password);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByText("Password changed.")).toBeVisible();
  await expect(page.getByRole("link", { name: "Change the password" })).toHaveCount(0);
  // The session goes on with the new cookie.
  await nav(page, "Providers").click();
  await expect(page.getByRole("table", { name: "Providers" })).toBeVisible();
});

test("repeated failed sign-ins are throttled with a clear message", async ({ page }) => {
  await page.goto("/login");
  const alert = page.getByRole("alert").filter({ hasText: /Wrong username or password|Too many failed sign-in attempts/ });
  for (let attempt = 0; attempt < 7; attempt += 1) {
    await page.getByLabel("Username").fill("nobody-e2e");
    await page.getByLabel("Password").fill(`wrong-${attempt}`);
    await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/login")), page.getByRole("button", { name: "Sign in" }).click()]);
    await expect(alert).toBeVisible();
    if (/Too many/.test((await alert.textContent()) ?? "")) break;
  }
  await expect(alert).toContainText("Too many failed sign-in attempts");
  await expect(alert).toContainText(/Try again in \d+ s/);
  await shot(page, "17-login-throttled");
});
