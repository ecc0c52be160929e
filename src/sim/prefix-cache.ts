/**
 * A per-origin prefix cache in the manner of vLLM's automatic prefix caching: the prompt's tokens
 * are cut into fixed-size blocks, each block is named by a hash chained over all blocks before it
 * (so equal hashes mean equal prefixes), and an LRU of block hashes stands in for KV-cache memory.
 */
import { FNV64_OFFSET, fnv64Update, fnv64UpdateHash, hash64Hex, type Hash64 } from "./hash";
import { BYTES_PER_TOKEN } from "./tokens";

/**
 * Hashes of the FULL blocks of a rendering: h_0 = H(block_0), h_i = H(h_{i-1} ‖ block_i), with H
 * 64-bit FNV-1a. A trailing partial block is left out: it is never cached.
 * @example
 * blockHashes(utf8("x".repeat(130)), 16) // 2 hashes: 130 bytes hold two full 64-byte blocks
 */
export function blockHashes(rendering: Uint8Array, blockTokens: number): string[] {
  const blockBytes = blockTokens * BYTES_PER_TOKEN;
  const full = Math.floor(rendering.byteLength / blockBytes);
  const out: string[] = [];
  let prev: Hash64 | null = null;
  for (let i = 0; i < full; i++) {
    const start: Hash64 = prev ? fnv64UpdateHash(FNV64_OFFSET, prev) : FNV64_OFFSET;
    prev = fnv64Update(start, rendering, i * blockBytes, (i + 1) * blockBytes);
    out.push(hash64Hex(prev));
  }
  return out;
}

/** An LRU of block hashes with a capacity in blocks. */
export class PrefixCache {
  // A Map iterates in insertion order; deleting and re-inserting a key moves it to the young end.
  private readonly blocks = new Map<string, true>();

  constructor(readonly capacityBlocks: number) {}

  /** Blocks currently held. */
  get size(): number {
    return this.blocks.size;
  }

  /** Forgets every block (`POST /_sim/reset`). */
  clear(): void {
    this.blocks.clear();
  }

  /**
   * Serves one request: counts how many leading blocks of the chain are present (stopping at the
   * first miss, as a prefix cache must), then inserts or touches every block, evicting the least
   * recently used beyond capacity. Returns the number of matched leading blocks.
   *
   * Blocks are touched from the last to the first, so a prompt's head ends up most recent and its
   * tail is evicted first: a shared head (a system prompt) survives pressure. vLLM frees a
   * request's blocks in reverse order for the same reason (v1 KVCacheManager, `free`).
   */
  lookupAndInsert(hashes: readonly string[]): number {
    let matched = 0;
    while (matched < hashes.length && this.blocks.has(hashes[matched] as string)) matched++;
    if (this.capacityBlocks === 0) return matched;
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i] as string;
      this.blocks.delete(h);
      this.blocks.set(h, true);
      if (this.blocks.size > this.capacityBlocks) {
        const oldest = this.blocks.keys().next();
        if (!oldest.done) this.blocks.delete(oldest.value);
      }
    }
    return matched;
  }
}

/** What the cache reports for one prompt. */
export interface CacheOutcome {
  promptTokens: number;
  cachedTokens: number;
}

/**
 * Runs a prompt rendering through an origin's cache and returns the token counts the origin reports:
 * `cachedTokens = matchedBlocks × blockTokens`, reported as 0 when below `minCachedTokens`, and never
 * more than `promptTokens − 1` (a provider always computes at least the last token).
 */
export function servePrompt(
  cache: PrefixCache,
  rendering: Uint8Array,
  opts: { blockTokens: number; minCachedTokens: number },
): CacheOutcome {
  const promptTokens = Math.ceil(rendering.byteLength / BYTES_PER_TOKEN);
  const matched = cache.lookupAndInsert(blockHashes(rendering, opts.blockTokens));
  let cachedTokens = matched * opts.blockTokens;
  if (cachedTokens < opts.minCachedTokens) cachedTokens = 0;
  cachedTokens = Math.max(0, Math.min(cachedTokens, promptTokens - 1));
  return { promptTokens, cachedTokens };
}
