import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { prefixUpdate } from "../../src/affinity/feedback";
import { BLOCK_TOKENS, fingerprint } from "../../src/affinity/fingerprint";
import { PrefixIndex } from "../../src/affinity/prefix-index";
import { cacheProfileOf } from "../../src/affinity/reuse";
import { PROVIDER_PROFILES } from "../../src/config/providers";
import { migrate } from "../../src/ledger/schema";
import { readUsage } from "../../src/openai/usage";

const T0 = Date.UTC(2026, 10, 23, 9, 0);
const TTL = { a: 60_000, b: 600_000 };

/**
 * Runs `fn` with a PrefixIndex over a fresh TenantLedger's real SQLite storage. A ledger without a
 * tenant creates no schema (issue #12), so the test lays it down, as creating a tenant does.
 */
function withIndex<T>(fn: (sql: SqlStorage, make: (max?: number) => PrefixIndex) => T): Promise<T> {
  const stub = env.TENANT_LEDGER.getByName(`affinity-${crypto.randomUUID()}`);
  return runInDurableObject(stub, (_, state) => {
    migrate(state.storage.sql);
    return fn(state.storage.sql, (max) => new PrefixIndex(state.storage.sql, max));
  });
}

const chain = (n: number, base = 1000) => Array.from({ length: n }, (_, i) => base + i);
const record = (origin: string, hashes: number[]) => ({ origin, record: hashes, drop: [], staleBefore: null });

describe("the prefix index", () => {
  it("finds each origin's deepest fresh match along the chain", () =>
    withIndex((_, make) => {
      const index = make();
      index.update(record("a", [1000, 1003]), T0);
      index.update(record("b", [1000, 1001]), T0);
      expect(index.lookup({ chain: chain(8), ttlMs: TTL }, T0 + 1)).toEqual({ a: { blocks: 4, seenAt: T0 }, b: { blocks: 2, seenAt: T0 } });
      // Another prompt sharing only the first block.
      expect(index.lookup({ chain: [1000, 5, 6], ttlMs: TTL }, T0 + 1)).toEqual({ a: { blocks: 1, seenAt: T0 }, b: { blocks: 1, seenAt: T0 } });
      // Origins that are not candidates are not reported.
      expect(index.lookup({ chain: chain(8), ttlMs: { b: 1 } }, T0)).toEqual({ b: { blocks: 2, seenAt: T0 } });
    }));

  it("expires entries on each origin's cache TTL (an injected clock)", () =>
    withIndex((_, make) => {
      const index = make();
      index.update(record("a", [1000]), T0);
      index.update(record("b", [1000]), T0);
      expect(Object.keys(index.lookup({ chain: chain(1), ttlMs: TTL }, T0 + 60_000))).toEqual(["a", "b"]);
      expect(Object.keys(index.lookup({ chain: chain(1), ttlMs: TTL }, T0 + 60_001))).toEqual(["b"]);
      // Seen again: fresh again.
      index.update(record("a", [1000]), T0 + 100_000);
      expect(index.lookup({ chain: chain(1), ttlMs: TTL }, T0 + 120_000).a).toEqual({ blocks: 1, seenAt: T0 + 100_000 });
    }));

  it("stays within its bound, evicting the least recently seen, in memory and in SQLite", () =>
    withIndex((sql, make) => {
      const index = make(3);
      index.update(record("a", [1, 2, 3]), T0);
      index.update(record("a", [1]), T0 + 1); // 1 is young again
      index.update(record("b", [4]), T0 + 2); // evicts 2
      expect(index.size).toBe(3);
      const hashes = sql.exec<{ hash: number }>("SELECT hash FROM affinity ORDER BY hash").toArray().map((r) => r.hash);
      expect(hashes).toEqual([1, 3, 4]);
      expect(index.lookup({ chain: [1, 2], ttlMs: TTL }, T0 + 3)).toEqual({ a: { blocks: 1, seenAt: T0 + 1 } });
      // A restarted object rebuilds the same index from SQLite.
      expect(make(3).lookup({ chain: [1, 2, 3, 4], ttlMs: TTL }, T0 + 3)).toEqual({ a: { blocks: 3, seenAt: T0 }, b: { blocks: 4, seenAt: T0 + 2 } });
    }));

  it("drops what an origin did not have and marks what it saw before as stale", () =>
    withIndex((_, make) => {
      const index = make();
      index.update(record("a", [1000, 1001, 1002, 1003]), T0);
      index.update(record("a", [9000]), T0 + 10);
      index.update({ origin: "a", record: [1000], drop: [1002, 1003], staleBefore: T0 + 10 }, T0 + 20);
      // 1001 survived the drop but was seen at T0, before the stale mark; 9000 likewise.
      expect(index.lookup({ chain: chain(4), ttlMs: TTL }, T0 + 30)).toEqual({ a: { blocks: 1, seenAt: T0 + 20 } });
      expect(index.lookup({ chain: [9000], ttlMs: TTL }, T0 + 30)).toEqual({});
      // The mark survives a restart.
      expect(make().lookup({ chain: [9000], ttlMs: TTL }, T0 + 30)).toEqual({});
    }));
});

describe("feedback from reported cached tokens", () => {
  const vllm = cacheProfileOf({ provider: "vllm", cache: {} });
  const fp = fingerprint({ model: "chat", messages: [{ role: "system", content: "s".repeat(4000) }, { role: "user", content: "u".repeat(6000) }] });
  const checkpointHashes = fp.checkpoints.map((i) => fp.blocks[i]);

  it("records the prompt's checkpoints at the origin that served it", () => {
    expect(prefixUpdate(fp, "a", null, { promptTokens: fp.promptTokens, cachedTokens: 0 }, vllm)).toEqual({ origin: "a", record: checkpointHashes, drop: [], staleBefore: null });
  });

  it("changes nothing else when the origin confirmed the prediction, or reported nothing", () => {
    const predicted = { blocks: 30, seenAt: T0 };
    const report = (cachedTokens: number, scale = 1) => ({ promptTokens: Math.round(fp.promptTokens * scale), cachedTokens });
    expect(prefixUpdate(fp, "a", predicted, report(30 * BLOCK_TOKENS), vllm).drop).toEqual([]);
    // A shortfall within one block is rounding (a provider always computes the last token).
    expect(prefixUpdate(fp, "a", predicted, report(30 * BLOCK_TOKENS - 1), vllm).staleBefore).toBeNull();
    // An origin whose tokenizer counts 20 % fewer tokens than 4 bytes each: the same share is a hit.
    expect(prefixUpdate(fp, "a", predicted, report(Math.round(30 * BLOCK_TOKENS * 0.8), 0.8), vllm).staleBefore).toBeNull();
    expect(prefixUpdate(fp, "a", predicted, null, vllm).staleBefore).toBeNull();
  });

  it("drops the entries deeper than what the origin had, and marks it stale as of the prediction", () => {
    const update = prefixUpdate(fp, "a", { blocks: 30, seenAt: T0 }, { promptTokens: fp.promptTokens, cachedTokens: 10 * BLOCK_TOKENS }, vllm);
    expect(update.staleBefore).toBe(T0);
    expect(update.drop).toEqual(fp.blocks.slice(10, 30).filter((h) => !checkpointHashes.includes(h)));
    expect(update.drop.length).toBeGreaterThan(15);
  });

  it("knows an origin that reports no cache figures from one that reports a miss", () => {
    const profile = PROVIDER_PROFILES.vllm;
    // vLLM without --enable-prompt-tokens-details: no cached_tokens at all.
    expect(readUsage({ prompt_tokens: 100, completion_tokens: 5 }, profile)).toMatchObject({ cachedTokens: 0, cacheReported: false });
    expect(readUsage({ prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } }, profile)).toMatchObject({ cachedTokens: 0, cacheReported: true });
    expect(readUsage({ prompt_tokens: 100, prompt_cache_hit_tokens: 64 }, PROVIDER_PROFILES.deepseek)).toMatchObject({ cachedTokens: 64, cacheReported: true });
  });
});
