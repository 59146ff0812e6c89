import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ADMIN, expect, login, test } from "./fixtures";

// A page on another port of the same host is same-site: the browser sends the console's
// SameSite=Lax session cookie with its requests. It must still not be able to change anything.

function attackerPage(revokeUrl: string): string {
  return `<!doctype html><html><body>
<form id="forged" method="POST" action="${revokeUrl}"></form>
<script>
  fetch(${JSON.stringify(revokeUrl)}, { method: "POST", mode: "no-cors", credentials: "include" })
    .finally(() => { document.title = "fetched"; document.getElementById("forged").submit(); });
</script>
</body></html>`;
}

async function serve(html: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

test("a page on another localhost port cannot revoke a key with the console's session", async ({ page }) => {
  await login(page, ADMIN.username, ADMIN.password);
  const csrf = { "x-routerx-csrf": "1" };
  const tenant = await page.request.post("/api/v1/tenants", { data: { name: `csrf-${Date.now()}` }, headers: csrf });
  expect(tenant.status()).toBe(201);
  const tenantId = (await tenant.json()).id as number;
  const created = await page.request.post(`/api/v1/tenants/${tenantId}/keys`, { data: { name: "target" }, headers: csrf });
  expect(created.status()).toBe(201);
  const keyId = (await created.json()).api_key.id as number;
  const keyPath = `/api/v1/tenants/${tenantId}/keys/${keyId}`;

  const attacker = await serve(attackerPage(new URL(`${keyPath}/revoke`, page.url()).toString()));
  try {
    const forged = page.waitForResponse((response) => response.url().endsWith(`${keyPath}/revoke`) && response.request().resourceType() === "document");
    await page.goto(attacker.url);
    const answer = await forged;
    expect(answer.status()).toBe(403);
    expect((await answer.json()).error.code).toBe("csrf_failed");
  } finally {
    attacker.server.close();
  }
  const key = await page.request.get(keyPath);
  expect((await key.json()).status).toBe("active");

  // The console itself still revokes it.
  const revoked = await page.request.post(`${keyPath}/revoke`, { headers: csrf });
  expect(revoked.status()).toBe(200);
  expect((await revoked.json()).status).toBe("revoked");
});
