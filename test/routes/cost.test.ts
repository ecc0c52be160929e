/**
 * Cost per request where apps read it, and the usage log's attribution (issue #17, section 3):
 * `x-router-cost-usd` on non-streamed answers, `usage.cost` in every answer's usage and in a
 * stream's usage chunk only when the client asked for usage, `GET /v1/usage/{request_id}` for the
 * tenant's own records, and `user` / `metadata` / `x-router-tags` kept, filtered and grouped by.
 */
import { describe, expect, it } from "vitest";
import { api, chat, newTenant, settledAll, sseData, usageOf } from "../support/client";

const usd = (micros: number) => `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")}`;

describe("cost per request", () => {
  it("a non-streamed chat answer carries x-router-cost-usd and usage.cost, equal to its usage row", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", max_tokens: 8 });
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number; cost: number } };
    const row = await usageOf(tenantId, res.headers.get("x-request-id")!);
    // alpha: 1 µ$ an input token, 2 µ$ an output token.
    expect(row.costMicros).toBe(body.usage.prompt_tokens + 2 * body.usage.completion_tokens);
    expect(res.headers.get("x-router-cost-usd")).toBe(usd(row.costMicros));
    expect(body.usage.cost).toBe(row.costMicros / 1e6);
  });

  it("a stream carries cost only in the usage chunk a client asked for, never a header", async () => {
    const { tenantId, key } = await newTenant();
    const plain = await chat(key, { model: "chat-main", stream: true, max_tokens: 4 });
    expect(plain.headers.get("x-router-cost-usd")).toBeNull();
    expect((await plain.text()).includes('"cost"')).toBe(false);

    const asked = await chat(key, { model: "chat-main", stream: true, max_tokens: 4, stream_options: { include_usage: true } });
    const usage = (sseData(await asked.text()).at(-2) as { usage: { cost: number } }).usage;
    const row = await usageOf(tenantId, asked.headers.get("x-request-id")!);
    expect(usage.cost).toBe(row.costMicros / 1e6);
    expect(row.costMicros).toBeGreaterThan(0);
  });

  it("embeddings carry it too; a free origin costs 0", async () => {
    const { key } = await newTenant();
    const res = await api("/embeddings", key, { model: "embed-main", input: "hello" });
    const body = (await res.json()) as { usage: { cost: number } };
    // pool serves embeddings with input free.
    expect(body.usage.cost).toBe(0);
    expect(res.headers.get("x-router-cost-usd")).toBe("0.000000");
  });

  it("GET /v1/usage/{request_id}: the tenant's own record, others' and unknown ids are 404s", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const res = await chat(a.key, { model: "chat-main", max_tokens: 4 });
    const requestId = res.headers.get("x-request-id")!;
    const row = await usageOf(a.tenantId, requestId);
    const own = await api(`/usage/${requestId}`, a.key);
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({ object: "usage_record", ...row, costUsd: row.costMicros / 1e6 });
    for (const [key, id] of [[b.key, requestId], [a.key, "req_0123456789abcdef0123456789abcdef"], [a.key, "nonsense"]] as const) {
      const missing = await api(`/usage/${id}`, key);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { type: string; code: string } }).error).toMatchObject({ type: "not_found_error", code: "not_found" });
    }
    expect((await api(`/usage/${requestId}`, null)).status).toBe(401);
    // The summary is still the summary.
    expect((await api("/usage/summary", a.key)).status).toBe(200);
  });
});

describe("attribution", () => {
  it("keeps user, metadata and x-router-tags, and filters and groups by them over HTTP", async () => {
    const { tenantId, key } = await newTenant();
    const send = (user: string, team: string, tags: string) => chat(key, { model: "chat-pool", max_tokens: 4, user, metadata: { team } }, { "x-router-tags": tags });
    const first = await send("alice", "search", "batch, eu");
    await send("bob", "ads", "eu,eu");
    await send("alice", "ads", "");
    await settledAll(tenantId);
    expect(await usageOf(tenantId, first.headers.get("x-request-id")!)).toMatchObject({ user: "alice", metadata: { team: "search" }, tags: ["batch", "eu"] });

    const list = async (query: string) => ((await (await api(`/usage?${query}`, key)).json()) as { data: Array<{ user: string }> }).data.map((r) => r.user);
    expect(await list("user=alice")).toEqual(["alice", "alice"]);
    expect(await list("tag=eu")).toEqual(["bob", "alice"]);
    expect(await list("metadata.team=ads")).toEqual(["alice", "bob"]);
    expect(await list("metadata.team=ads&user=bob")).toEqual(["bob"]);

    const groups = async (by: string) => ((await (await api(`/usage/summary?group_by=${by}`, key)).json()) as { data: Array<{ group: string; requests: number; costMicros: number }> }).data.map((g) => [g.group, g.requests, g.costMicros]);
    // chat-pool: 4 output tokens at 2 µ$ each.
    expect(await groups("user")).toEqual([["alice", 2, 16], ["bob", 1, 8]]);
    expect(await groups("tag")).toEqual([["", 1, 8], ["batch", 1, 8], ["eu", 2, 16]]);
    expect(await groups("metadata.team")).toEqual([["ads", 2, 16], ["search", 1, 8]]);
    const csv = (await (await api("/usage?format=csv&user=bob", key)).text()).trim().split("\n");
    // …,user,metadata,tags,feedback,gates: unrated and ungated cells are empty.
    expect(csv[1]!.endsWith(',bob,"{""team"":""ads""}","[""eu""]",,')).toBe(true);
  });

  it.each([
    [{ "x-router-tags": "has space" }, {}, null],
    [{ "x-router-tags": Array.from({ length: 17 }, (_, i) => `t${i}`).join(",") }, {}, null],
    [{ "x-router-tags": "x".repeat(65) }, {}, null],
    [{}, { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
    [{}, { metadata: { ["k".repeat(65)]: "v" } }, `metadata.${"k".repeat(65)}`],
    [{}, { metadata: { k: 1 } }, "metadata.k"],
    [{}, { user: "u".repeat(257) }, "user"],
  ])("refuses bad attribution (%j %j) with a 400 naming it, before any round trip", async (headers, body, param) => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-pool", ...body }, headers);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { param: string | null; message: string } };
    expect(error.param).toBe(param);
    if (param === null) expect(error.message).toMatch(/x-router-tags/);
    await settledAll(tenantId);
  });

  it("refuses bad filters with the param", async () => {
    const { key } = await newTenant();
    const bad = await api(`/usage?metadata.${"k".repeat(65)}=v`, key);
    expect(bad.status).toBe(400);
    expect((await api("/usage/summary?group_by=metadata.", key)).status).toBe(400);
    expect((await api("/usage?colour=red", key)).status).toBe(400);
  });
});
