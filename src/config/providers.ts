/**
 * What differs between provider families, as data (DESIGN §6): how an origin is authenticated,
 * which usage fields it reports, which field takes the output cap, how it reports usage on a stream,
 * whether it prices `service_tier`, whether it serves the legacy completions endpoint and whether
 * it speaks the Responses API. Handlers read this table instead of branching on names.
 *
 * | provider   | output cap (chat)       | stream usage                     | `service_tier` | `/completions` | `/responses`       |
 * |------------|-------------------------|----------------------------------|----------------|----------------|--------------------|
 * | openai     | `max_completion_tokens` | on request (`include_usage`)     | priced tiers   | yes            | yes                |
 * | deepseek   | `max_tokens`            | on request (`include_usage`)     | no             | no (beta URL)  | no                 |
 * | openrouter | `max_tokens`            | always, in the last chunk        | no             | yes            | no                 |
 * | vllm       | `max_completion_tokens` | on request (`include_usage`)     | no             | yes            | when configured    |
 * | sglang     | `max_completion_tokens` | on request (`include_usage`)     | no             | yes            | when configured    |
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
  /**
   * The chat completions field that caps the output. A chat request's cap, whichever field the
   * client used (and the router's own, when a budget sets one), goes in this field and only this
   * one: a provider that ignored the other field would answer unbounded, past what was reserved.
   * The legacy completions endpoint takes `max_tokens` everywhere.
   */
  outputCapField: "max_completion_tokens" | "max_tokens";
  /**
   * How it reports usage on a stream. `on_request`: only with `stream_options.include_usage`, in a
   * last chunk with `choices: []` (the router always asks, to learn what was used); `always`: in
   * the last chunk whatever was asked, `stream_options` having no effect (the client's is passed
   * as it is). Either way the client sees the usage only if it asked for it (`proxy/sse-relay.ts`).
   */
  streamUsage: "on_request" | "always";
  /**
   * Whether it bills by OpenAI's `service_tier`. Only such an origin may declare `serviceTiers`
   * (the tiers it accepts and their prices); `service_tier` reaches no other origin.
   */
  serviceTier: boolean;
  /** Whether it serves the legacy `POST /completions` under its base URL. */
  completions: boolean;
  /**
   * Whether it serves the Responses API (`POST /responses`) under its base URL, unless an origin's
   * `responsesApi` says otherwise: a `POST /v1/responses` is then sent to it as a Responses request
   * rather than translated to chat (`request/responses-turn.ts`). vLLM and SGLang serve it in recent
   * versions only, and not for every model, so their origins opt in.
   */
  responsesApi: boolean;
  /**
   * The smallest `max_output_tokens` its Responses API takes (0: any). OpenAI refuses less than 16
   * (400 `integer_below_min_value`); a Responses request with a smaller cap (the client's, or a
   * budget's) is sent to it as chat, where `max_completion_tokens` has no such floor.
   */
  responsesMinOutputTokens: number;
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

/** The servers we run in pools (vLLM, SGLang) speak the same dialect. */
const POOL_SERVER: ProviderProfile = {
  auth: BEARER,
  cachedTokensField: "prompt_tokens_details.cached_tokens",
  cache: POOL_CACHE,
  promptCacheKey: false,
  outputCapField: "max_completion_tokens",
  streamUsage: "on_request",
  serviceTier: false,
  completions: true,
  responsesApi: false,
  responsesMinOutputTokens: 0,
};

export const PROVIDER_PROFILES: Readonly<Record<Provider, ProviderProfile>> = {
  // `max_tokens` is deprecated and "not compatible with o-series models"; `max_completion_tokens`
  // bounds visible and reasoning tokens. `stream_options` is only allowed with `stream: true`; its
  // `include_usage` adds a last chunk with `choices: []` and the usage. `service_tier` picks the
  // processing tier, and `priority` and `flex` are billed at their own rates
  // (https://platform.openai.com/docs/api-reference/chat/create, /docs/guides/priority-processing,
  // /docs/guides/flex-processing). Legacy completions: https://platform.openai.com/docs/api-reference/completions.
  // Responses: https://platform.openai.com/docs/api-reference/responses/create.
  openai: {
    auth: BEARER,
    cachedTokensField: "prompt_tokens_details.cached_tokens",
    cache: OPENAI_CACHE,
    promptCacheKey: true,
    outputCapField: "max_completion_tokens",
    streamUsage: "on_request",
    serviceTier: true,
    completions: true,
    responsesApi: true,
    responsesMinOutputTokens: 16,
  },
  // The chat API documents `max_tokens` (no `max_completion_tokens`) and
  // `stream_options.include_usage` (https://api-docs.deepseek.com/api/create-chat-completion); FIM
  // completions are a beta at another base URL (`https://api.deepseek.com/beta`), not under `/v1`.
  deepseek: {
    auth: BEARER,
    cachedTokensField: "prompt_cache_hit_tokens",
    cache: { ttlSeconds: 3600, minTokens: 64, stepTokens: 64 },
    promptCacheKey: false,
    outputCapField: "max_tokens",
    streamUsage: "on_request",
    serviceTier: false,
    completions: false,
    responsesApi: false,
    responsesMinOutputTokens: 0,
  },
  // Its parameters page documents `max_tokens` (https://openrouter.ai/docs/api-reference/parameters).
  // Usage, with its own `cost` in credits, is "included in the last SSE message for streaming
  // responses"; `stream_options: {include_usage: true}` is deprecated and has no effect
  // (https://openrouter.ai/docs/use-cases/usage-accounting). The router's `usage.cost` replaces
  // OpenRouter's: it is what the tenant pays the router.
  openrouter: {
    auth: BEARER,
    cachedTokensField: "prompt_tokens_details.cached_tokens",
    cache: OPENAI_CACHE,
    promptCacheKey: false,
    outputCapField: "max_tokens",
    streamUsage: "always",
    serviceTier: false,
    completions: true,
    responsesApi: false,
    responsesMinOutputTokens: 0,
  },
  // vLLM: `max_tokens` is "deprecated in favor of the max_completion_tokens field"; `StreamOptions`
  // has `include_usage` (and `continuous_usage_stats`, usage on every chunk)
  // (vllm-project/vllm, vllm/entrypoints/openai/protocol.py, `ChatCompletionRequest`).
  vllm: POOL_SERVER,
  // SGLang, likewise: `max_tokens` deprecated for `max_completion_tokens`; `StreamOptions.include_usage`
  // defaults to false (sgl-project/sglang, python/sglang/srt/entrypoints/openai/protocol.py).
  sglang: POOL_SERVER,
};
