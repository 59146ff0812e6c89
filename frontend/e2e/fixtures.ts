import { test as base, expect, type APIRequestContext, type Page } from "@playwright/test";
import path from "node:path";

export const ARTIFACTS = path.resolve(__dirname, "artifacts");
export const ADMIN = { username: "admin", password: "admin123" };
export const DEMO_MODEL = "gpt-4.1-mini";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with \`npm run e2e\` (global setup starts the stack).`);
  return value;
}

export const stack = {
  get console() {
    return required("E2E_BASE_URL");
  },
  get gateway() {
    return required("E2E_GATEWAY_URL");
  },
};

/**
 * Every test gets the console as baseURL, and fails when the page logs a Content-Security-Policy
 * violation or an uncaught error: the pages must work under the real policy.
 */
export const test = base.extend<{ pageProblems: string[] }>({
  baseURL: async ({}, use) => {
    await use(stack.console);
  },
  pageProblems: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on("console", (message) => {
        const text = message.text();
        if (/Content Security Policy|Refused to (execute|load|apply)/i.test(text)) problems.push(`CSP: ${text}`);
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      await use(problems);
      expect(problems, "the page logged CSP violations or errors").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** A link of the left navigation. */
export function nav(page: Page, name: string) {
  return page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
}

export async function login(page: Page, username: string, password: string): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
}

export async function logout(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
}

/** A full-page screenshot in e2e/artifacts/, once the page has settled (no spinner left). */
export async function shot(page: Page, name: string): Promise<void> {
  await expect(page.getByRole("status", { name: /^Loading/ })).toHaveCount(0);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export interface ChatAnswer {
  status: number;
  provider: string | null;
  attempts: string | null;
  requestId: string;
  body: unknown;
}

/** One non-streamed chat completion through the gateway, as an API client would send it. */
let requestCounter = 0;

export async function chat(request: APIRequestContext, key: string, opts: { model?: string; text?: string } = {}): Promise<ChatAnswer> {
  requestCounter += 1;
  const requestId = `e2e-${Date.now().toString(36)}-${requestCounter}`;
  const response = await request.post(`${stack.gateway}/v1/chat/completions`, {
    headers: { Authorization: `Bearer ${key}`, "x-request-id": requestId },
    data: { model: opts.model ?? DEMO_MODEL, messages: [{ role: "user", content: [{ type: "text", text: opts.text ?? "Hello from the e2e suite" }] }] },
    failOnStatusCode: false,
  });
  const headers = response.headers();
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = await response.text();
  }
  return { status: response.status(), provider: headers["x-routerx-provider"] ?? null, attempts: headers["x-routerx-attempts"] ?? null, requestId: headers["x-request-id"] ?? requestId, body };
}
