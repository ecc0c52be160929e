/**
 * Regression for issue #12, item 9: 100k levels of nested `tools` overflowed the simulator's stack
 * (Node's `JSON.stringify` recurses per level), so the demo answered 502. Like a real server, the
 * simulator now refuses a body nested deeper than 128 levels with a 400, and the router relays it.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { newTenant, originSaw } from "../support/client";
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

describe("router: deeply nested tools", () => {
  it("relays the origin's 400, never a 5xx, and the origin saw the request once", async () => {
    const { key } = await newTenant();
    // As deep as the test config's 64 KiB body limit allows (100k levels would be a 413 here).
    const res = await SELF.fetch("http://router.test/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: chatWithTools(nestedArrays(30_000), "chat-pool"),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-router-origin")).toBe("pool");
    expect(await res.json()).toEqual(TOO_DEEP);
    const saw = await originSaw(res.headers.get("x-request-id")!);
    expect(saw.map((r) => [r.path, r.body])).toEqual([["/pool/v1/chat/completions", null]]);
  });

  // The router itself walks bodies too (validation, the token bound of pricing/estimate.ts, the
  // fingerprint of affinity/fingerprint.ts, the upstream body): none of it recurses in workerd,
  // whose JSON.stringify is iterative, so wherever the nesting sits the answer is a 400, never a 5xx.
  const deep = nestedArrays(20_000);
  it.each([
    ["tools", `{"model":"chat-pool","messages":[{"role":"user","content":"hi"}],"tools":${deep}}`, "tools", null],
    ["functions", `{"model":"chat-pool","messages":[{"role":"user","content":"hi"}],"functions":${deep}}`, "functions", null],
    ["response_format", `{"model":"chat-pool","messages":[{"role":"user","content":"hi"}],"response_format":${deep}}`, "response_format", null],
    ["a message's tool_calls", `{"model":"chat-pool","messages":[{"role":"assistant","content":"hi","tool_calls":${deep}}]}`, "messages", null],
    ["a message's unknown field", `{"model":"chat-pool","messages":[{"role":"user","content":"hi","extra":${deep}}]}`, "messages", null],
    ["a message's content", `{"model":"chat-pool","messages":[{"role":"user","content":${deep}}]}`, "messages[0].content", "invalid_value"],
  ])("nesting in %s is a 400 naming it", async (_, body, param, code) => {
    const { key } = await newTenant();
    const res = await SELF.fetch("http://router.test/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { param: string | null; code: string | null } }).error;
    expect([error.param, error.code]).toEqual([param, code]);
  });
});
