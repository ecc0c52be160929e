/**
 * What differs between provider families, as data (DESIGN §6): how an origin is authenticated
 * and which usage fields it reports. Handlers read this table instead of branching on names.
 */
import type { Provider } from "./schema";

export interface ProviderProfile {
  /** The request header that carries the origin's API key, and how the value is formed. */
  auth: { header: string; scheme: "bearer" | "raw" };
  /**
   * Where the origin reports prompt tokens served from its prefix cache. OpenAI, vLLM and SGLang
   * use `usage.prompt_tokens_details.cached_tokens`; DeepSeek reports `prompt_cache_hit_tokens`
   * and `prompt_cache_miss_tokens` at the top of `usage` (https://api-docs.deepseek.com/guides/kv_cache).
   */
  cachedTokensField: "prompt_tokens_details.cached_tokens" | "prompt_cache_hit_tokens";
  /** How its prompt cache behaves by default (an origin's `cache` overrides it). */
  cache: CacheProfile;
  /** Whether it takes OpenAI's `prompt_cache_key` to route requests sharing a prefix to one cache. */
  promptCacheKey: boolean;
}

const BEARER = { header: "authorization", scheme: "bearer" } as const;

/** The cache behaviour an origin has unless its config says otherwise. */
export interface CacheProfile {
  ttlSeconds: number;
  minTokens: number;
  stepTokens: number;
}

// OpenAI: prefixes from 1,024 tokens in 128-token increments, kept 5-10 minutes of inactivity
// (https://platform.openai.com/docs/guides/prompt-caching). DeepSeek: 64-token units on disk, kept
// "hours to days" (https://api-docs.deepseek.com/guides/kv_cache); we assume one hour. vLLM and
// SGLang: KV blocks of 16 tokens (`--block-size`/`--page-size`), kept while memory allows; ten
// minutes is a cautious guess that the feedback from reported cached tokens corrects.
const OPENAI_CACHE: CacheProfile = { ttlSeconds: 300, minTokens: 1024, stepTokens: 128 };
const POOL_CACHE: CacheProfile = { ttlSeconds: 600, minTokens: 16, stepTokens: 16 };

export const PROVIDER_PROFILES: Readonly<Record<Provider, ProviderProfile>> = {
  openai: { auth: BEARER, cachedTokensField: "prompt_tokens_details.cached_tokens", cache: OPENAI_CACHE, promptCacheKey: true },
  deepseek: { auth: BEARER, cachedTokensField: "prompt_cache_hit_tokens", cache: { ttlSeconds: 3600, minTokens: 64, stepTokens: 64 }, promptCacheKey: false },
  openrouter: { auth: BEARER, cachedTokensField: "prompt_tokens_details.cached_tokens", cache: OPENAI_CACHE, promptCacheKey: false },
  vllm: { auth: BEARER, cachedTokensField: "prompt_tokens_details.cached_tokens", cache: POOL_CACHE, promptCacheKey: false },
  sglang: { auth: BEARER, cachedTokensField: "prompt_tokens_details.cached_tokens", cache: POOL_CACHE, promptCacheKey: false },
};
