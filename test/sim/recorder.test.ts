/** The request recorder: what each origin received, by x-request-id, in a bounded ring. */
import { describe, expect, it } from "vitest";
import type { SimRecord } from "../../src/sim";
import { chat, makeSim, post, user } from "./helpers";

async function recorded(sim: ReturnType<typeof makeSim>, id: string): Promise<SimRecord[]> {
  const res = await sim.fetch(new Request(`http://sim/_sim/requests/${encodeURIComponent(id)}`));
  expect(res.status).toBe(200);
  return (await res.json()) as SimRecord[];
}

describe("request recorder", () => {
  it("records every header as received, the parsed body, and the origin, in arrival order", async () => {
    const sim = makeSim({ origins: { a: {}, b: { apiKey: "k" } } });
    const headers = { "x-request-id": "req-1", authorization: "Bearer k", cookie: "session=1", "X-Custom": "Yes" };
    await chat(sim, "b", { model: "rewritten", messages: [user("hi")] }, { headers });
    await post(sim, "a", "embeddings", { model: "e", input: "x" }, { headers: { "x-request-id": "req-1" } });
    await chat(sim, "a", { model: "other", messages: [user("hi")] }, { headers: { "x-request-id": "req-2" } });

    const records = await recorded(sim, "req-1");
    expect(records.map((r) => [r.origin, r.method, r.path])).toEqual([
      ["b", "POST", "/b/v1/chat/completions"],
      ["a", "POST", "/a/v1/embeddings"],
    ]);
    const first = records[0];
    expect(first?.headers).toMatchObject({
      "x-request-id": "req-1",
      authorization: "Bearer k",
      cookie: "session=1",
      "x-custom": "Yes",
      "content-type": "application/json",
    });
    expect(first?.body).toEqual({ model: "rewritten", messages: [user("hi")] });
    expect(typeof first?.at).toBe("number");
  });

  it("records refused requests too (unknown origin, bad auth, bad JSON → body null)", async () => {
    const sim = makeSim({ origins: { a: { apiKey: "k" } } });
    const headers = { "x-request-id": "r" };
    await chat(sim, "ghost", { model: "m", messages: [] }, { headers });
    await chat(sim, "a", { model: "m", messages: [user("x")] }, { headers });
    await post(sim, "a", "chat/completions", "{oops", { headers });
    const records = await recorded(sim, "r");
    expect(records.map((r) => r.origin)).toEqual(["ghost", "a", "a"]);
    expect(records[2]?.body).toBeNull();
  });

  it("unknown ids give an empty list", async () => {
    expect(await recorded(makeSim({ origins: { a: {} } }), "nope")).toEqual([]);
  });

  it("keeps only the last recordLimit requests", async () => {
    const sim = makeSim({ origins: { a: {} }, recordLimit: 3 });
    for (let i = 0; i < 5; i++) {
      await chat(sim, "a", { model: `m${i}`, messages: [user("x")] }, { headers: { "x-request-id": "same" } });
    }
    const records = await recorded(sim, "same");
    expect(records.map((r) => (r.body as { model: string }).model)).toEqual(["m2", "m3", "m4"]);
  });
});
