/**
 * What a served request teaches the prefix index (DESIGN §5, feedback): the origin now holds the
 * prompt's checkpoints; and if it reported fewer cached tokens than predicted, the entries deeper
 * than what it had are dropped and everything it had been seen with until the mispredicted entry's
 * time is marked stale (its cache is LRU: what it evicted last, it evicted the older things before).
 */
import type { CacheProfile } from "../config/providers";
import { BLOCK_TOKENS, type Fingerprint } from "./fingerprint";
import type { PrefixMatch, PrefixUpdate } from "./prefix-index";
import { reusableTokens } from "./reuse";

/** What the origin reported: its own token counts, from its own tokenizer. */
export interface ReportedCache {
  promptTokens: number;
  cachedTokens: number;
}

/**
 * The index update after `origin` served a request.
 *
 * `reported` is null when the origin reported no cache figures: then nothing is corrected. The
 * prediction is in the router's tokens (4 bytes each) and the report in the origin's, so they are
 * compared as shares of the prompt; a shortfall within one step (or block) of the prediction is
 * rounding, not an eviction.
 * @example
 * prefixUpdate(fp, "pool-a", { blocks: 40, seenAt: t0 }, { promptTokens: 3000, cachedTokens: 640 }, vllm)
 * // { origin: "pool-a", record: [...checkpoints], drop: [the chain's entries past what it had], staleBefore: t0 }
 */
export function prefixUpdate(fp: Fingerprint, origin: string, predicted: PrefixMatch | null, reported: ReportedCache | null, cache: CacheProfile): PrefixUpdate {
  const record = fp.checkpoints.map((i) => fp.blocks[i]!);
  if (predicted === null || reported === null || fp.promptTokens === 0 || reported.promptTokens === 0) return { origin, record, drop: [], staleBefore: null };
  // The origin's count of tokens per router token.
  const scale = reported.promptTokens / fp.promptTokens;
  const expected = reusableTokens(Math.min(predicted.blocks * BLOCK_TOKENS, fp.promptTokens) * scale, cache);
  if (reported.cachedTokens + Math.max(cache.stepTokens, BLOCK_TOKENS * scale) >= expected) return { origin, record, drop: [], staleBefore: null };
  const kept = new Set(record);
  const drop: number[] = [];
  for (let i = Math.floor(reported.cachedTokens / scale / BLOCK_TOKENS); i < predicted.blocks && i < fp.blocks.length; i++) {
    if (!kept.has(fp.blocks[i]!)) drop.push(fp.blocks[i]!);
  }
  return { origin, record, drop, staleBefore: predicted.seenAt };
}
