/** The URL scheme, the API key check and the OpenAI error shape of every refusal. */
import { describe, expect, it } from "vitest";
import type { OpenAIErrorBody } from "../../src/sim";
import { chat, makeSim, post, user } from "./helpers";

const sim = () => makeSim({ origins: { open: { models: ["a", "b"], profile: "deepseek" }, locked: { apiKey: "sk-right" } } });

async function expectError(res: Response, status: number, code?: string | null): Promise<OpenAIErrorBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/json");
  const body = (await res.json()) as OpenAIErrorBody;
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  if (code !== undefined) expect(body.error.code).toBe(code);
  return body;
}

describe("routing", () => {
  it("GET /_sim/health", async () => {
    const res = await sim().fetch(new Request("http://sim/_sim/health"));
    expect(await res.json()).toEqual({ ok: true });
  });

  it("GET /<origin>/v1/models lists the configured models", async () => {
    const res = await sim().fetch(new Request("http://sim/open/v1/models"));
    expect(await res.json()).toEqual({
      object: "list",
      data: [
        { id: "a", object: "model", created: 0, owned_by: "deepseek" },
        { id: "b", object: "model", created: 0, owned_by: "deepseek" },
      ],
    });
  });

  it("unknown origin or path is a 404", async () => {
    await expectError(await chat(sim(), "nowhere", { model: "m", messages: [user("x")] }), 404, "not_found");
    await expectError(await post(sim(), "open", "edits", { prompt: "x" }), 404, "not_found");
    await expectError(await sim().fetch(new Request("http://sim/_sim/nothing")), 404, "not_found");
  });

  it("wrong method is a 405", async () => {
    const res = await sim().fetch(new Request("http://sim/open/v1/chat/completions"));
    await expectError(res, 405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("bad JSON and a missing messages array are 400s", async () => {
    const bad = await expectError(await post(sim(), "open", "chat/completions", "{not json"), 400);
    expect(bad.error.type).toBe("invalid_request_error");
    const missing = await expectError(await chat(sim(), "open", { model: "m" }), 400);
    expect(missing.error.param).toBe("messages");
    await expectError(await chat(sim(), "open", { model: "m", messages: [] }), 400);
  });

  it("an origin with apiKey wants exactly `Bearer <apiKey>`", async () => {
    const body = { model: "m", messages: [user("x")] };
    await expectError(await chat(sim(), "locked", body), 401, "invalid_api_key");
    await expectError(await chat(sim(), "locked", body, { headers: { authorization: "Bearer sk-wrong" } }), 401, "invalid_api_key");
    await expectError(await sim().fetch(new Request("http://sim/locked/v1/models")), 401, "invalid_api_key");
    const ok = await chat(sim(), "locked", body, { headers: { authorization: "Bearer sk-right" } });
    expect(ok.status).toBe(200);
  });

  it("rejects invalid options at creation", () => {
    expect(() => makeSim({ origins: { a: { profile: "nope" as "openai" } } })).toThrow();
    expect(() => makeSim({ origins: { _sim: {} } })).toThrow();
    expect(() => makeSim({ origins: { a: { typo: 1 } as never } })).toThrow();
  });
});
