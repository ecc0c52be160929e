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
}

export const PROVIDER_PROFILES: Readonly<Record<Provider, ProviderProfile>> = {
  openai: { auth: { header: "authorization", scheme: "bearer" }, cachedTokensField: "prompt_tokens_details.cached_tokens" },
  deepseek: { auth: { header: "authorization", scheme: "bearer" }, cachedTokensField: "prompt_cache_hit_tokens" },
  openrouter: { auth: { header: "authorization", scheme: "bearer" }, cachedTokensField: "prompt_tokens_details.cached_tokens" },
  vllm: { auth: { header: "authorization", scheme: "bearer" }, cachedTokensField: "prompt_tokens_details.cached_tokens" },
  sglang: { auth: { header: "authorization", scheme: "bearer" }, cachedTokensField: "prompt_tokens_details.cached_tokens" },
};
