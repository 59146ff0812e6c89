import { expect, shot, test } from "./fixtures";
import { adminApi, gatewayChat, settled, signIn } from "./console-helpers";

// A rule with mid-stream rescue: the first target cuts every stream after 2 chunks, the second
// continues the same answer. The client gets one whole stream; the route trace shows its pieces.

const MODEL = "rescue-e2e-model";

test("a stream rescued mid-answer: one whole stream for the client, its pieces in the route trace", async ({ page, request }) => {
  await signIn(page);
  const admin = adminApi(page);
  await admin.post("/providers", { name: "rescue-cut", type: "mock", capabilities: ["text"], settings: { mock: { stream_error_after_chunks: 2 } } });
  await admin.post("/providers", { name: "rescue-next", type: "mock", capabilities: ["text"], settings: { assistant_prefill: true } });
  await admin.post("/rules", {
    name: "rescue-e2e-rule",
    model_pattern: MODEL,
    capability: "text",
    stream_rescue: "continue",
    targets: [
      { provider: "rescue-cut", weight: 1, tier: 0 },
      { provider: "rescue-next", weight: 1, tier: 1 },
    ],
  });
  const tenant = await admin.post("/tenants", { name: "rescue-e2e" });
  const key: string = (await admin.post(`/tenants/${tenant.id}/keys`, { name: "rescue" })).key;

  // Until the gateway has the new rule and key (its config poll), answers are 401/404.
  let requestId = "";
  await expect(async () => {
    const answer = await gatewayChat(request, key, { model: MODEL, stream: true });
    expect(answer.status).toBe(200);
    expect(answer.text).not.toContain('"error"');
    expect(answer.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    requestId = answer.requestId;
  }).toPass({ timeout: 20_000 });

  await page.goto(`/logs/${encodeURIComponent(requestId)}`);
  await settled(page);
  const trace = page.getByRole("list", { name: "Attempts" });
  await expect(trace.getByRole("listitem").first()).toHaveAccessibleName(/^Attempt 1: rescue-cut /);
  await expect(trace.getByRole("listitem").last()).toHaveAccessibleName("Attempt 2: rescue-next rescued: continued the answer");
  await expect(trace.getByRole("listitem").first()).toContainText("piece 1");
  await expect(trace.getByRole("listitem").last()).toContainText("piece 2");
  await shot(page, "14b-log-rescued-stream");
});
