/**
 * Regression for issue #12, item 9: 100k levels of nested `tools` overflowed the simulator's stack
 * (Node's `JSON.stringify` recurses per level), so the demo answered 502. Like a real server, the
 * simulator now refuses a body nested deeper than 128 levels with a 400. So does the router,
 * before anything of its own recurses over the body (lib/json-depth.ts).
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { ledgerOf, newTenant, originSaw, settledAll } from "../support/client";
import { ADMIN_TOKEN } from "../support/router-config";
import { chat, makeSim, post, user, type Completion } from "./helpers";

/** `depth` nested arrays, built as text: no recursive serializer ever touches them before the server does. */
function nestedArrays(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

function chatWithTools(toolsJson: string, model = "m"): string {
  return `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"tools":${toolsJson}}`;
}

const TOO_DEEP = {
  error: {
    message: "The JSON body of your request nests deeper than 128 levels.",
    type: "invalid_request_error",
    param: "tools",
    code: null,
  },
};

describe("simulator: deeply nested bodies", () => {
  it("answers 400 for 100k levels of tools, in workerd and over the Node host", async () => {
    const body = chatWithTools(nestedArrays(100_000));
    const inProcess = await post(makeSim({ origins: { a: {} } }), "a", "chat/completions", body);
    expect(inProcess.status).toBe(400);
    expect(await inProcess.json()).toEqual(TOO_DEEP);

    // The Node host is where the stack overflowed: V8 there serializes recursively.
    const overSocket = await fetch(`${inject("simUrl")}/pool/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(overSocket.status).toBe(400);
    expect(await overSocket.json()).toEqual(TOO_DEEP);
  });

  it("takes 128 levels (the body object counts as one) and refuses 129", async () => {
    const sim = makeSim({ origins: { a: {} } });
    const at = await post(sim, "a", "chat/completions", chatWithTools(nestedArrays(127)));
    expect(at.status).toBe(200);
    expect(((await at.json()) as Completion).choices[0]?.finish_reason).toBeDefined();
    const past = await post(sim, "a", "chat/completions", chatWithTools(nestedArrays(128)));
    expect(past.status).toBe(400);
    expect(await past.json()).toEqual(TOO_DEEP);
  });

  it("names the field that nests, for messages and embeddings inputs too, and records the request with a null body", async () => {
    const sim = makeSim({ origins: { a: {} } });
    const deepMessage = `{"model":"m","messages":[{"role":"user","content":"hi","extra":${nestedArrays(1_000)}}]}`;
    const res = await post(sim, "a", "chat/completions", deepMessage, { headers: { "x-request-id": "deep-1" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { ...TOO_DEEP.error, param: "messages" } });
    const embed = await post(sim, "a", "embeddings", `{"model":"e","input":${nestedArrays(1_000)}}`);
    expect(embed.status).toBe(400);
    expect(await embed.json()).toEqual({ error: { ...TOO_DEEP.error, param: "input" } });
    const records = await sim.fetch(new Request("http://sim/_sim/requests/deep-1"));
    expect(records.status).toBe(200);
    expect(((await records.json()) as Array<{ body: unknown }>).map((r) => r.body)).toEqual([null]);
    // A shallow request still works afterwards.
    expect((await chat(sim, "a", { model: "m", messages: [user("hi")] })).status).toBe(200);
  });
});

describe("router: deeply nested bodies", () => {
  const post = (key: string, path: string, body: string) =>
    SELF.fetch(`http://router.test/v1/${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body });
  const tooDeep = (param: string) => ({
    error: { message: "The request body's JSON nests deeper than 128 levels.", type: "invalid_request_error", param, code: "json_too_deep" },
  });

  it("takes 128 levels to the origin and refuses 129 itself: no origin sees it, nothing is charged", async () => {
    const { key, tenantId } = await newTenant();
    const at = await post(key, "chat/completions", chatWithTools(nestedArrays(127), "chat-pool"));
    expect(at.status).toBe(200);
    expect(at.headers.get("x-router-origin")).toBe("pool");
    const past = await post(key, "chat/completions", chatWithTools(nestedArrays(128), "chat-pool"));
    expect(past.status).toBe(400);
    expect(past.headers.get("x-router-origin")).toBeNull();
    expect(await past.json()).toEqual(tooDeep("tools"));
    expect(await originSaw(past.headers.get("x-request-id")!)).toEqual([]);
    await settledAll(tenantId);
    expect((await ledgerOf(tenantId).usageOf(past.headers.get("x-request-id")!)) ?? null).toBeNull();
  });

  // Each of these once reached something that recurses per level: validation, the token bound of
  // pricing/estimate.ts, the fingerprint, the upstream body's JSON.stringify (10k levels there made
  // every origin look unreachable: a 502), a Responses answer's stored copy (a 500, after the origin
  // had answered and been paid). Now none gets past the body's reading.
  const deepArrays = nestedArrays(20_000);
  const deepObjects = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
  it.each([
    ["tools", "chat/completions", `{"model":"chat-pool","messages":[{"role":"user","content":"hi"}],"tools":${deepArrays}}`, "tools"],
    ["functions", "chat/completions", `{"model":"chat-pool","messages":[{"role":"user","content":"hi"}],"functions":${deepArrays}}`, "functions"],
    ["response_format", "chat/completions", `{"model":"chat-pool","messages":[{"role":"user","content":"hi"}],"response_format":${deepArrays}}`, "response_format"],
    ["a message's tool_calls", "chat/completions", `{"model":"chat-pool","messages":[{"role":"assistant","content":"hi","tool_calls":${deepArrays}}]}`, "messages"],
    ["a message's unknown field", "chat/completions", `{"model":"chat-pool","messages":[{"role":"user","content":"hi","extra":${deepObjects}}]}`, "messages"],
    ["a message's content", "chat/completions", `{"model":"chat-pool","messages":[{"role":"user","content":${deepArrays}}]}`, "messages"],
    ["an unknown top-level field, streamed", "chat/completions", `{"model":"chat-pool","stream":true,"messages":[{"role":"user","content":"hi"}],"x":${deepObjects}}`, "x"],
    ["a Responses input item", "responses", `{"model":"chat-pool","input":[{"type":"message","role":"user","content":"hi","x":${deepObjects}}]}`, "input"],
    ["an embeddings input", "embeddings", `{"model":"embed-main","input":${deepArrays}}`, "input"],
    ["a legacy completions prompt", "completions", `{"model":"chat-pool","prompt":${deepArrays}}`, "prompt"],
  ])("nesting in %s is a 400 naming the field", async (_, path, body, param) => {
    const { key } = await newTenant();
    const res = await post(key, path, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(tooDeep(param));
    expect(await originSaw(res.headers.get("x-request-id")!)).toEqual([]);
  });

  it("refuses an admin body nested too deep, a config's dry run included", async () => {
    const config = '{"origins":'.repeat(1_000) + "{}" + "}".repeat(1_000);
    const res = await SELF.fetch("http://router.test/admin/config?dryRun=1", { method: "PUT", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: `{"config":${config}}` });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(tooDeep("config"));
  });
});
