/**
 * The prefix cache: exact cached-token counts on repeated and extended prompts, computed from the
 * documented rule (4 bytes per token, blocks of `blockTokens`, chained hashes, LRU of blocks).
 */
import { describe, expect, it } from "vitest";
import { blockHashes, PrefixCache } from "../../src/sim";
import { FNV64_OFFSET, fnv1a32, fnv64Update, hash64Hex } from "../../src/sim/hash";
import { chat, makeSim, tokensOf, user, type Completion } from "./helpers";

const enc = (s: string) => new TextEncoder().encode(s);

/** A text of exactly `bytes` ASCII bytes. */
function text(bytes: number, seed = "The quick brown fox jumps over the lazy dog. "): string {
  return seed.repeat(Math.ceil(bytes / seed.length)).slice(0, bytes);
}

async function usage(res: Promise<Response>): Promise<NonNullable<Completion["usage"]>> {
  const json = (await (await res).json()) as Completion;
  if (!json.usage) throw new Error("no usage");
  return json.usage;
}

const cached = (u: NonNullable<Completion["usage"]>) => (u.prompt_tokens_details as { cached_tokens: number }).cached_tokens;

describe("hashing", () => {
  it("FNV-1a 64 matches the reference vectors", () => {
    expect(hash64Hex(fnv64Update(FNV64_OFFSET, enc("")))).toBe("cbf29ce484222325");
    expect(hash64Hex(fnv64Update(FNV64_OFFSET, enc("a")))).toBe("af63dc4c8601ec8c");
    expect(hash64Hex(fnv64Update(FNV64_OFFSET, enc("foobar")))).toBe("85944171f73967e8");
  });

  it("FNV-1a 32 matches the reference vectors", () => {
    expect(fnv1a32(enc("a"))).toBe(0xe40c292c);
    expect(fnv1a32(enc("foobar"))).toBe(0xbf9cf968);
  });

  it("block hashes cover full blocks only and are chained (equal hash ⇒ equal prefix)", () => {
    const base = enc(text(200)); // 50 tokens: 3 full blocks of 16 tokens (64 bytes)
    const hashes = blockHashes(base, 16);
    expect(hashes).toHaveLength(3);
    const extended = blockHashes(enc(text(200) + "more"), 16);
    expect(extended.slice(0, 3)).toEqual(hashes);
    // Same bytes in block 1, different block 0: the chain makes block 1's hash differ too.
    const other = enc("X" + text(199).slice(1));
    expect(blockHashes(other, 16)[1]).not.toBe(hashes[1]);
  });
});

describe("PrefixCache", () => {
  it("counts leading hits only and evicts the least recently used", () => {
    const cache = new PrefixCache(3);
    expect(cache.lookupAndInsert(["a", "b", "c"])).toBe(0); // recency, oldest first: c b a
    expect(cache.lookupAndInsert(["a", "b", "x"])).toBe(2); // x evicts c; then b a x → x b a
    expect(cache.size).toBe(3);
    expect(cache.lookupAndInsert(["a", "b", "c"])).toBe(2);
    expect(cache.lookupAndInsert(["z", "a"])).toBe(0); // a miss at the head hides later hits
  });

  it("evicts a prompt's tail before its head", () => {
    const cache = new PrefixCache(2);
    cache.lookupAndInsert(["p", "q", "r"]); // r goes first
    expect(cache.lookupAndInsert(["p", "q", "r"])).toBe(2);
  });
});

describe("cached tokens (vllm: 16-token blocks, min 16)", () => {
  // "m<|user|>" is 9 bytes; 991 more make a 1000-byte rendering: 250 tokens, 15 full blocks.
  const first = [user(text(991))];

  it("first request 0, repeated request 15 × 16 = 240", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" } } });
    const u1 = await usage(chat(sim, "v", { model: "m", messages: first }));
    expect(u1.prompt_tokens).toBe(250);
    expect(cached(u1)).toBe(0);
    const u2 = await usage(chat(sim, "v", { model: "m", messages: first }));
    expect(cached(u2)).toBe(240);
  });

  it("an extended prompt hits the old full blocks, then its own", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" } } });
    await chat(sim, "v", { model: "m", messages: first });
    const extended = [...first, { role: "assistant", content: "ok" }, user("more")];
    const rendering = `m<|user|>${text(991)}<|assistant|>ok<|user|>more`; // 1027 bytes
    const u1 = await usage(chat(sim, "v", { model: "m", messages: extended }));
    expect(u1.prompt_tokens).toBe(tokensOf(rendering));
    expect(u1.prompt_tokens).toBe(257);
    // Block 15 (bytes 960-1023) was partial in the first prompt, so never cached.
    expect(cached(u1)).toBe(240);
    const u2 = await usage(chat(sim, "v", { model: "m", messages: extended }));
    expect(cached(u2)).toBe(256); // 16 full blocks
  });

  it("a different model is a different prefix", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" } } });
    await chat(sim, "v", { model: "m", messages: first });
    expect(cached(await usage(chat(sim, "v", { model: "n", messages: first })))).toBe(0);
  });

  it("never reports more than prompt_tokens − 1", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" } } });
    const exact = [user(text(55))]; // 64 bytes: 16 tokens, exactly one block
    await chat(sim, "v", { model: "m", messages: exact });
    const u = await usage(chat(sim, "v", { model: "m", messages: exact }));
    expect(u.prompt_tokens).toBe(16);
    expect(cached(u)).toBe(15);
  });

  it("caches are per origin", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" }, w: { profile: "vllm" } } });
    await chat(sim, "v", { model: "m", messages: first });
    expect(cached(await usage(chat(sim, "w", { model: "m", messages: first })))).toBe(0);
  });

  it("reports 0 below minCachedTokens", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm", minCachedTokens: 64 } } });
    const short = [user(text(191))]; // 200 bytes: 3 full blocks = 48 tokens < 64
    await chat(sim, "v", { model: "m", messages: short });
    expect(cached(await usage(chat(sim, "v", { model: "m", messages: short })))).toBe(0);
  });
});

describe("tools are part of the cached head (vllm: 16-token blocks)", () => {
  /** Tools whose JSON makes "m" + tools + "<|user|>" exactly 128 bytes: two full blocks. */
  function tools(name: string): unknown[] {
    const make = (description: string) => [{ type: "function", function: { name, description } }];
    const tools = make("d".repeat(128 - "m".length - "<|user|>".length - JSON.stringify(make("")).length));
    expect(`m${JSON.stringify(tools)}<|user|>`).toHaveLength(128);
    return tools;
  }
  // 128 + 100 = 228 bytes: 57 tokens, 3 full blocks; the messages differ from their first byte on.
  const ask = (toolName: string, letter: string) => ({ model: "m", tools: tools(toolName), messages: [user(letter.repeat(100))] });

  it("the same tools with a different conversation hit the tools' blocks", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" } } });
    const u1 = await usage(chat(sim, "v", ask("f", "A")));
    expect(u1.prompt_tokens).toBe(57);
    expect(cached(u1)).toBe(0);
    expect(cached(await usage(chat(sim, "v", ask("f", "B"))))).toBe(32);
  });

  it("different tools miss from the first block, even with the same conversation", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" } } });
    await chat(sim, "v", ask("f", "A"));
    expect(cached(await usage(chat(sim, "v", ask("g", "A"))))).toBe(0);
  });
});

describe("cached tokens by profile defaults", () => {
  it("deepseek: 64-token blocks, reported as hit/miss too", async () => {
    const sim = makeSim({ origins: { d: { profile: "deepseek" } } });
    const messages = [user(text(991))]; // 1000 bytes: 250 tokens, 3 full blocks of 256 bytes
    await chat(sim, "d", { model: "m", messages });
    const u = await usage(chat(sim, "d", { model: "m", messages }));
    expect(cached(u)).toBe(192);
    expect(u.prompt_cache_hit_tokens).toBe(192);
    expect(u.prompt_cache_miss_tokens).toBe(58);
  });

  it("openai: nothing below 1024 tokens, then multiples of 128", async () => {
    const sim = makeSim({ origins: { o: { profile: "openai" } } });
    const small = [user(text(991))]; // 250 tokens: 1 block of 128, below the 1024 minimum
    await chat(sim, "o", { model: "m", messages: small });
    expect(cached(await usage(chat(sim, "o", { model: "m", messages: small })))).toBe(0);

    const big = [user(text(4191))]; // 4200 bytes: 1050 tokens, 8 full blocks of 512 bytes
    await chat(sim, "o", { model: "m", messages: big });
    const u = await usage(chat(sim, "o", { model: "m", messages: big }));
    expect(u.prompt_tokens).toBe(1050);
    expect(cached(u)).toBe(1024);
  });
});

describe("LRU eviction at capacity", () => {
  // Each prompt is 200 bytes = 50 tokens = 3 full blocks of 16 (48 cacheable); models differ, so no block is shared.
  const A = { model: "a", messages: [user(text(191))] };
  const B = { model: "b", messages: [user(text(191))] };

  it("a newer prompt evicts an older one's tail first; the surviving head still hits", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm", cacheBlocks: 4 } } });
    await chat(sim, "v", A); // recency, oldest first: [a3 a2 a1]
    await chat(sim, "v", B); // [a1 b3 b2 b1]
    expect(cached(await usage(chat(sim, "v", B)))).toBe(48);
    expect(cached(await usage(chat(sim, "v", A)))).toBe(16); // only a1 left; now [b1 a3 a2 a1]
    expect(cached(await usage(chat(sim, "v", A)))).toBe(48);
    expect(cached(await usage(chat(sim, "v", B)))).toBe(16);
  });

  it("a hit refreshes recency", async () => {
    const C = { model: "c", messages: [user(text(191))] };
    const sim = makeSim({ origins: { v: { profile: "vllm", cacheBlocks: 6 } } });
    await chat(sim, "v", A);
    await chat(sim, "v", B); // [a3 a2 a1 b3 b2 b1]
    await chat(sim, "v", A); // touch: [b3 b2 b1 a3 a2 a1]
    await chat(sim, "v", C); // evicts B's blocks: [a3 a2 a1 c3 c2 c1]
    expect(cached(await usage(chat(sim, "v", A)))).toBe(48);
    expect(cached(await usage(chat(sim, "v", B)))).toBe(0);
  });
});
