/**
 * What an origin can reuse of a matched prefix: nothing below its minimum, then whole steps
 * (OpenAI: 0 below 1,024 tokens, then 1,024 + k·128; vLLM: multiples of its 16-token block).
 */
import { PROVIDER_PROFILES, type CacheProfile } from "../config/providers";
import type { OriginConfig } from "../config/schema";

/** The origin's cache behaviour: its config over its provider's defaults. */
export function cacheProfileOf(origin: Pick<OriginConfig, "provider" | "cache">): CacheProfile {
  const defaults = PROVIDER_PROFILES[origin.provider].cache;
  return {
    ttlSeconds: origin.cache?.ttlSeconds ?? defaults.ttlSeconds,
    minTokens: origin.cache?.minTokens ?? defaults.minTokens,
    stepTokens: origin.cache?.stepTokens ?? defaults.stepTokens,
  };
}

/**
 * Matched tokens rounded down to what the origin reuses.
 * @example
 * reusableTokens(1000, { minTokens: 1024, stepTokens: 128, ttlSeconds: 300 }) // 0
 * reusableTokens(1300, { minTokens: 1024, stepTokens: 128, ttlSeconds: 300 }) // 1280
 */
export function reusableTokens(matchedTokens: number, cache: CacheProfile): number {
  if (matchedTokens < cache.minTokens || matchedTokens <= 0) return 0;
  return Math.floor(matchedTokens / cache.stepTokens) * cache.stepTokens;
}

/** The TTFT of a fully cached prompt, as a share of an uncached one's (network, queueing, the last token). */
const CACHED_TTFT_FLOOR = 0.2;

/**
 * How much of an uncached prompt's TTFT a prompt with `cachedTokens` of `promptTokens` served from
 * cache takes: prefill dominates TTFT for long prompts, so the uncached share, floored at 0.2.
 * @example
 * uncachedTtftShare(3000, 4000) // 0.25
 * uncachedTtftShare(4000, 4000) // 0.2
 */
export function uncachedTtftShare(cachedTokens: number, promptTokens: number): number {
  return Math.max(CACHED_TTFT_FLOOR, 1 - cachedTokens / Math.max(1, promptTokens));
}
