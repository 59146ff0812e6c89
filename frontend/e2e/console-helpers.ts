import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { APIRequestContext, Page } from "@playwright/test";
import { ADMIN, expect, stack } from "./fixtures";

/** 06-account changes the admin's password; later specs sign in with whichever is current. */
export const ADMIN_PASSWORDS = [ADMIN.password, "a-new-admin-pass-1"];

/** The current one, found once per run and kept in the run's work folder: every failed sign-in
 * counts towards the login throttle, so guessing again for each test would lock the admin out. */
export async function adminPassword(request: APIRequestContext): Promise<string> {
  const cache = path.join(process.env.E2E_WORK_DIR ?? ".", "admin-password");
  const works = async (password: string) => (await request.post(`${stack.console}/api/v1/auth/login`, { data: { username: ADMIN.username, password } })).ok();
  const known = existsSync(cache) ? readFileSync(cache, "utf8") : null;
  if (known && (await works(known))) return known;
  for (const password of [...ADMIN_PASSWORDS].reverse().filter((p) => p !== known)) {
    if (await works(password)) {
      writeFileSync(cache, password);
      return password;
    }
  }
  throw new Error("neither admin password works");
}

export async function signIn(page: Page): Promise<void> {
  const password = await adminPassword(page.request);
  await page.goto("/login");
  await page.getByLabel("Username").fill(ADMIN.username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  // On a phone the navigation sits in the closed drawer, out of the accessibility tree.
  await expect(page.locator('nav[aria-label="Main"]')).toBeAttached();
}

/** The admin API through the console's origin, with the browser's session cookie. */
export function adminApi(page: Page) {
  const url = (path: string) => `${stack.console}/api/v1${path}`;
  // The admin API's bodies as plain JSON: specs read the fields they need.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const check = async (what: string, response: Awaited<ReturnType<APIRequestContext["get"]>>): Promise<any> => {
    expect(response.ok(), `${what}: HTTP ${response.status()} ${await response.text()}`).toBeTruthy();
    return response.status() === 204 ? null : response.json();
  };
  // A change needs the header the console sends, as the admin API refuses cross-site requests.
  const headers = { "x-routerx-csrf": "1" };
  return {
    get: async (path: string) => check(`GET ${path}`, await page.request.get(url(path))),
    post: async (path: string, data: unknown) => check(`POST ${path}`, await page.request.post(url(path), { data, headers })),
    patch: async (path: string, data: unknown) => check(`PATCH ${path}`, await page.request.patch(url(path), { data, headers })),
  };
}

export interface GatewayAnswer {
  status: number;
  provider: string | null;
  requestId: string;
  text: string;
}

/** One chat completion (optionally streamed) through the gateway; `requestId` null lets the
 * gateway make one up. */
export async function gatewayChat(request: APIRequestContext, key: string, opts: { model: string; stream?: boolean; requestId?: string | null }): Promise<GatewayAnswer> {
  const headers: Record<string, string> = { Authorization: `Bearer ${key}` };
  if (opts.requestId) headers["x-request-id"] = opts.requestId;
  const response = await request.post(`${stack.gateway}/v1/chat/completions`, {
    headers,
    data: { model: opts.model, stream: Boolean(opts.stream), messages: [{ role: "user", content: "Hello from the console suite" }] },
    failOnStatusCode: false,
  });
  const answerHeaders = response.headers();
  return { status: response.status(), provider: answerHeaders["x-routerx-provider"] ?? null, requestId: answerHeaders["x-request-id"] ?? "", text: await response.text() };
}

/** The page's document is no wider than its viewport: nothing scrolls sideways. */
export async function expectNoHorizontalScroll(page: Page, where: string): Promise<void> {
  const sizes = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth }));
  expect(sizes.scroll, `${where}: page scrolls sideways (${sizes.scroll} > ${sizes.view})`).toBeLessThanOrEqual(sizes.view);
}

/** No two visible controls (links, buttons, fields) cover each other: nothing is hidden under
 * another control or drawn on top of it. A control inside another (an icon button in a link) is
 * not an overlap; a control off-screen (the closed drawer) or invisible is not looked at. */
export async function expectNoOverlappingControls(page: Page, where: string): Promise<void> {
  const overlaps = await page.evaluate(() => {
    const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=tab]";
    const view = { width: document.documentElement.clientWidth, height: document.documentElement.scrollHeight };
    const controls = Array.from(document.querySelectorAll<HTMLElement>(selector)).filter((element) => {
      const box = element.getBoundingClientRect();
      const style = getComputedStyle(element);
      const onScreen = box.right > 0 && box.left < view.width && box.bottom + window.scrollY > 0;
      return box.width > 1 && box.height > 1 && onScreen && style.visibility !== "hidden" && Number(style.opacity) > 0 && element.closest("[inert], [aria-hidden=true]") === null;
    });
    const name = (element: HTMLElement) => `${element.tagName.toLowerCase()} "${(element.getAttribute("aria-label") ?? element.textContent ?? "").trim().slice(0, 30)}"`;
    const found: string[] = [];
    for (const [i, a] of controls.entries()) {
      for (const b of controls.slice(i + 1)) {
        if (a.contains(b) || b.contains(a)) continue;
        const [p, q] = [a.getBoundingClientRect(), b.getBoundingClientRect()];
        const width = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const height = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (width > 2 && height > 2) found.push(`${name(a)} and ${name(b)} (${Math.round(width)}x${Math.round(height)} px)`);
      }
    }
    return { found, looked: controls.length };
  });
  expect(overlaps.looked, `${where}: no control was looked at`).toBeGreaterThan(0);
  expect(overlaps.found, `${where}: controls overlap`).toEqual([]);
}

/** Settled: no loading spinner left. */
export async function settled(page: Page): Promise<void> {
  await expect(page.getByRole("status", { name: /^Loading/ })).toHaveCount(0, { timeout: 30_000 });
}
