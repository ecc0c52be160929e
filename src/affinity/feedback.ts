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

/**
 * The index update after `origin` served a request.
 *
 * `reportedCachedTokens` is null when the origin reported no usage: then nothing is corrected.
 * A shortfall within one step (or block) of the prediction is rounding, not an eviction.
 * @example
 * prefixUpdate(fp, "pool-a", { blocks: 40, seenAt: t0 }, 640, vllm)
 * // { origin: "pool-a", record: [...checkpoints], drop: [chain 10..39 not re-recorded], staleBefore: t0 }
 */
export function prefixUpdate(fp: Fingerprint, origin: string, predicted: PrefixMatch | null, reportedCachedTokens: number | null, cache: CacheProfile): PrefixUpdate {
  const record = fp.checkpoints.map((i) => fp.blocks[i]!);
  if (predicted === null || reportedCachedTokens === null) return { origin, record, drop: [], staleBefore: null };
  const expected = reusableTokens(Math.min(predicted.blocks * BLOCK_TOKENS, fp.promptTokens), cache);
  if (reportedCachedTokens + Math.max(cache.stepTokens, BLOCK_TOKENS) >= expected) return { origin, record, drop: [], staleBefore: null };
  const kept = new Set(record);
  const drop: number[] = [];
  for (let i = Math.floor(reportedCachedTokens / BLOCK_TOKENS); i < predicted.blocks && i < fp.blocks.length; i++) {
    if (!kept.has(fp.blocks[i]!)) drop.push(fp.blocks[i]!);
  }
  return { origin, record, drop, staleBefore: predicted.seenAt };
}
