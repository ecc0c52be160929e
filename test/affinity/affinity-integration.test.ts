/** Prefix-cache affinity through the Worker: placement, the header, feedback and hit rates, provider levers. */
import { describe, expect, it } from "vitest";
import { BLOCK_TOKENS, fingerprint } from "../../src/affinity/fingerprint";
import { adminFetch, chat, newTenant, originSaw, settledAll } from "../support/client";
import { GPU_POOLS, KV_POOLS } from "../support/router-config";

interface Completion {
  usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } };
}

/** A system prompt no other test (or earlier run of the simulator) has sent. */
const uniqueSystem = (bytes = 3000) => {
  const tag = crypto.randomUUID();
  return { role: "system", content: `${tag} ${"You are a careful assistant. ".repeat(Math.ceil(bytes / 29))}`.slice(0, bytes) };
};

interface AffinityTotals {
  requests: number;
  predictedTokens: number;
  reportedTokens: number;
  placements: Record<string, number>;
}

async function affinityTotals(scenario: string): Promise<AffinityTotals> {
  const res = await adminFetch(`/scenarios/${scenario}/affinity`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { total: AffinityTotals }).total;
}

/** Health reports are batched (20 ms in tests): waits until the monitors counted `n` more requests. */
async function totalsAfter(scenario: string, before: AffinityTotals, n: number): Promise<AffinityTotals> {
  for (let i = 0; i < 200; i++) {
    const now = await affinityTotals(scenario);
    if (now.requests >= before.requests + n) return now;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the monitors never counted the requests");
}

describe("prefix-cache affinity through the router", () => {
  it("sends a growing conversation back to the pool that holds its prefix, and counts what it predicted and what the pool reported", async () => {
    const { tenantId, key } = await newTenant();
    const before = await affinityTotals("chat-affinity");
    const turn1 = [uniqueSystem(), { role: "user", content: "What is a prefix cache? ".repeat(40) }];
    const first = await chat(key, { model: "chat-affinity", messages: turn1 });
    expect(first.status).toBe(200);
    const home = first.headers.get("x-router-origin")!;
    expect(GPU_POOLS).toContain(home);
    expect(first.headers.get("x-router-affinity")).toBe("cold; policy=affinity; predicted-cached-tokens=0");
    await settledAll(tenantId);

    const turn2 = [...turn1, { role: "assistant", content: "It keeps the KV cache of prompts it has seen." }, { role: "user", content: "And why route by it?" }];
    const second = await chat(key, { model: "chat-affinity", messages: turn2 });
    expect(second.status).toBe(200);
    expect(second.headers.get("x-router-origin")).toBe(home);
    // The index matched every full block of turn 1 (its last checkpoint), rounded to vLLM's 16-token blocks.
    const predicted = fingerprint({ model: "chat-affinity", messages: turn1 }).blocks.length * BLOCK_TOKENS;
    expect(second.headers.get("x-router-affinity")).toBe(`sticky; policy=affinity; predicted-cached-tokens=${predicted}`);
    const reported = ((await second.json()) as Completion).usage.prompt_tokens_details.cached_tokens;
    // The pool renders with its own model name; its 16-token blocks cover turn 1 at least as deep.
    expect(reported).toBeGreaterThanOrEqual(predicted - 16);
    await settledAll(tenantId);

    const after = await totalsAfter("chat-affinity", before, 2);
    expect(after.requests - before.requests).toBe(2);
    expect(after.predictedTokens - before.predictedTokens).toBe(predicted);
    expect(after.reportedTokens - before.reportedTokens).toBe(reported);
    expect(after.placements.sticky! - before.placements.sticky!).toBe(1);
    expect(after.placements.cold! - before.placements.cold!).toBe(1);
  });

  it("brings a new conversation that shares a system prompt to the pool that holds it", async () => {
    const { tenantId, key } = await newTenant();
    const system = uniqueSystem(4000);
    const first = await chat(key, { model: "chat-affinity", messages: [system, { role: "user", content: "first question" }] });
    const home = first.headers.get("x-router-origin");
    await settledAll(tenantId);
    for (const q of ["another question", "a third one, rather longer than the others"]) {
      const res = await chat(key, { model: "chat-affinity", messages: [system, { role: "user", content: q }] });
      expect(res.headers.get("x-router-origin")).toBe(home);
      expect(res.headers.get("x-router-affinity")).toMatch(/^sticky; policy=affinity; predicted-cached-tokens=[1-9]\d*$/);
      await settledAll(tenantId);
    }
  });

  it("keeps tenants apart: another tenant's identical prompt is cold", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const messages = [uniqueSystem(), { role: "user", content: "same words" }];
    await chat(a.key, { model: "chat-affinity", messages });
    await settledAll(a.tenantId);
    const res = await chat(b.key, { model: "chat-affinity", messages });
    expect(res.headers.get("x-router-affinity")).toBe("cold; policy=affinity; predicted-cached-tokens=0");
  });

  it("round-robin walks the pools; session-hash keeps a session on one pool whatever its prompts", async () => {
    const { key } = await newTenant();
    const system = uniqueSystem();
    const rr: string[] = [];
    for (let i = 0; i < 3; i++) rr.push((await chat(key, { model: "chat-round-robin", messages: [system, { role: "user", content: "q" }] })).headers.get("x-router-origin")!);
    expect(new Set(rr).size).toBe(3);

    const homes = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await chat(key, { model: "chat-session-hash", user: "session-42", messages: [uniqueSystem(500), { role: "user", content: `q${i}` }] });
      expect(res.headers.get("x-router-affinity")).toMatch(/^cold; policy=session-hash; /);
      homes.add(res.headers.get("x-router-origin")!);
    }
    expect(homes.size).toBe(1);
  });

  it("gives OpenAI-style origins a stable prompt_cache_key per tenant and prefix, and keeps the client's own", async () => {
    const { key } = await newTenant();
    const other = await newTenant();
    const system = uniqueSystem();
    const keyOf = async (k: string, extra: Record<string, unknown> = {}, model = "chat-alpha-only") => {
      const res = await chat(k, { model, messages: [system, { role: "user", content: crypto.randomUUID() }], ...extra });
      expect(res.status).toBe(200);
      const [seen] = await originSaw(res.headers.get("x-request-id")!);
      return (seen!.body as { prompt_cache_key?: string }).prompt_cache_key;
    };
    const k1 = await keyOf(key);
    expect(k1).toMatch(/^tr-[0-9a-z]+$/);
    expect(await keyOf(key)).toBe(k1);
    expect(await keyOf(other.key)).not.toBe(k1);
    expect(await keyOf(key, { prompt_cache_key: "mine" })).toBe("mine");
    // vLLM takes no such field: it is not sent there.
    expect(await keyOf(key, {}, "chat-pool")).toBeUndefined();
  });

  it("passes Anthropic-style cache_control markers through untouched", async () => {
    const { key } = await newTenant();
    const messages = [
      { role: "system", content: [{ type: "text", text: "Long instructions.", cache_control: { type: "ephemeral" } }] },
      { role: "user", content: "hi" },
    ];
    const res = await chat(key, { model: "chat-affinity", messages });
    expect(res.status).toBe(200);
    const [seen] = await originSaw(res.headers.get("x-request-id")!);
    expect((seen!.body as { messages: unknown }).messages).toEqual(messages);
  });

  it("with cache sizes declared, places a conversation its pool's cache has since evicted again, where there is room", async () => {
    const { tenantId, key } = await newTenant();
    // One user message each (no system prompt: the whole prompt is one entry of the cache model).
    const conversation = (repeats: number) => [{ role: "user", content: `${crypto.randomUUID()} ${"Summarise this report, please. ".repeat(repeats)}` }];
    const send = async (messages: unknown[]) => {
      const res = await chat(key, { model: "chat-cache-model", messages });
      expect(res.status).toBe(200);
      await settledAll(tenantId);
      return { origin: res.headers.get("x-router-origin")!, affinity: res.headers.get("x-router-affinity") };
    };
    // A and B: ~1,800 tokens each; two do not fit in one pool's 2,500, so B goes to the other pool.
    const a = conversation(232);
    const first = await send(a);
    expect(first.affinity).toBe("cold; policy=affinity; predicted-cached-tokens=0");
    const b = await send(conversation(232));
    expect(b.origin).toBe(KV_POOLS.find((p) => p !== first.origin));
    // C (~2,600 tokens) fits nowhere and evicts as much anywhere: it goes where fewer prompt tokens
    // were sent lately (A's pool: A is older than B), and evicts all of A.
    const c = await send(conversation(340));
    expect(c.origin).toBe(first.origin);
    // A's next turn: the index remembers A at its pool, but the model says that cache holds none of
    // it, so nothing is predicted there and A is placed again, where it evicts less (B's pool).
    const again = await send([...a, { role: "assistant", content: "Done." }, { role: "user", content: "Thanks." }]);
    expect(again.affinity).toBe("cold; policy=affinity; predicted-cached-tokens=0");
    expect(again.origin).toBe(b.origin);
  });

  it("answers 404 for the affinity of an unknown scenario", async () => {
    const res = await adminFetch("/scenarios/nope/affinity");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});
