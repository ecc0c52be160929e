/**
 * What differs between the providers the simulator imitates, as data (STYLE habit 9):
 * cache granularity, the cache-hit threshold, how usage is reported and who "owns" a model.
 */

/** The provider families an origin can imitate. */
export const PROFILES = ["openai", "deepseek", "vllm", "openrouter"] as const;

/** One provider family. */
export type Profile = (typeof PROFILES)[number];

/** Token counts of one chat completion, before a profile shapes them into a `usage` object. */
export interface UsageCounts {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/** `usage` of a chat completion as OpenAI (and vLLM) report it. */
export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

/** `usage` of a chat completion as DeepSeek reports it. */
export interface DeepSeekUsage extends OpenAIUsage {
  prompt_cache_hit_tokens: number;
  prompt_cache_miss_tokens: number;
}

/** `usage` as OpenRouter reports it: OpenAI's, and its own `cost` in credits. */
export interface OpenRouterUsage extends OpenAIUsage {
  cost: number;
}

/** `usage` of a chat completion, whichever profile shaped it. */
export type ChatUsage = OpenAIUsage | DeepSeekUsage | OpenRouterUsage;

/** The per-profile facts the simulator needs. */
export interface ProfileSpec {
  /** Tokens per prefix-cache block when the origin does not set `blockTokens`. */
  blockTokens: number;
  /** Fewest cached tokens ever reported when the origin does not set `minCachedTokens`. */
  minCachedTokens: number;
  /** `owned_by` of each entry in `GET /v1/models`. */
  ownedBy: string;
  /** Shapes token counts into the provider's `usage` object. */
  usage(counts: UsageCounts): ChatUsage;
  /** A stream carries the usage chunk only with `stream_options.include_usage`, or always. */
  streamUsage: "on_request" | "always";
  /** Whether it serves the Responses API (`POST /v1/responses`); without it, that path is a 404. */
  responses: boolean;
}

function openAIUsage(c: UsageCounts): OpenAIUsage {
  return {
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    total_tokens: c.promptTokens + c.completionTokens,
    prompt_tokens_details: { cached_tokens: c.cachedTokens },
  };
}

/** The table of profiles; every difference between providers lives here. */
export const PROFILE_SPECS: Readonly<Record<Profile, ProfileSpec>> = {
  // OpenAI prompt caching: hits only from 1024 prompt tokens on, then in 128-token increments
  // (https://platform.openai.com/docs/guides/prompt-caching).
  openai: { blockTokens: 128, minCachedTokens: 1024, ownedBy: "openai", usage: openAIUsage, streamUsage: "on_request", responses: true },
  // DeepSeek context caching works on 64-token units and reports hits as
  // `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens`, not OpenAI's
  // `prompt_tokens_details.cached_tokens`; its API sends the OpenAI field as well, so we do too
  // (https://api-docs.deepseek.com/guides/kv_cache).
  deepseek: {
    blockTokens: 64,
    minCachedTokens: 64,
    ownedBy: "deepseek",
    usage: (c) => ({
      ...openAIUsage(c),
      prompt_cache_hit_tokens: c.cachedTokens,
      prompt_cache_miss_tokens: c.promptTokens - c.cachedTokens,
    }),
    streamUsage: "on_request",
    responses: false,
  },
  // vLLM automatic prefix caching hashes KV blocks of 16 tokens by default
  // (`--block-size 16`); `prompt_tokens_details.cached_tokens` is what
  // `--enable-prompt-tokens-details` adds to usage. vLLM serves `POST /v1/responses` too
  // (vllm/entrypoints/openai/api_server.py, `create_responses`).
  vllm: { blockTokens: 16, minCachedTokens: 16, ownedBy: "vllm", usage: openAIUsage, streamUsage: "on_request", responses: true },
  // OpenRouter puts usage, with its own `cost` in credits, in every response and in the last chunk
  // of every stream; `stream_options.include_usage` is deprecated and has no effect
  // (https://openrouter.ai/docs/use-cases/usage-accounting). Here a token costs a micro-credit.
  openrouter: {
    blockTokens: 128,
    minCachedTokens: 1024,
    ownedBy: "openrouter",
    usage: (c) => ({ ...openAIUsage(c), cost: (c.promptTokens + c.completionTokens) / 1_000_000 }),
    streamUsage: "always",
    responses: false,
  },
};
