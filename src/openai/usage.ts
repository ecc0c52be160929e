/**
 * Reading token usage from origin responses into one shape, whatever the provider's dialect.
 */
import type { ProviderProfile } from "../config/providers";

export interface Usage {
  /** All prompt tokens, cached and cache-written ones included (OpenAI's convention). */
  promptTokens: number;
  /** Prompt tokens the origin served from its prefix cache. */
  cachedTokens: number;
  /** Prompt tokens the origin wrote to its cache (priced apart by some providers). */
  cacheWriteTokens: number;
  completionTokens: number;
  /**
   * Whether the origin reported its cache at all: vLLM sends `cached_tokens` only with
   * `--enable-prompt-tokens-details`, SGLang only with `--enable-cache-report`. Without it,
   * `cachedTokens` is 0 for want of a number, not a measured miss.
   */
  cacheReported: boolean;
}

function count(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.floor(value) : null;
}

/**
 * The usage an origin reported, or null when the value is not a usage object.
 * The provider's own cached-token field is read first; the other dialect is a fallback, since
 * OpenAI-compatible servers mix them (DeepSeek also fills `prompt_tokens_details`).
 */
export function readUsage(raw: unknown, profile: ProviderProfile): Usage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const u = raw as Record<string, unknown>;
  const promptTokens = count(u.prompt_tokens);
  if (promptTokens === null) return null;
  const details = typeof u.prompt_tokens_details === "object" && u.prompt_tokens_details !== null
    ? (u.prompt_tokens_details as Record<string, unknown>)
    : {};
  const openaiStyle = count(details.cached_tokens);
  const deepseekStyle = count(u.prompt_cache_hit_tokens);
  const cached =
    profile.cachedTokensField === "prompt_cache_hit_tokens" ? (deepseekStyle ?? openaiStyle) : (openaiStyle ?? deepseekStyle);
  const cachedTokens = Math.min(cached ?? 0, promptTokens);
  // OpenRouter reports `prompt_tokens_details.cache_write_tokens`; Anthropic-compatible servers
  // `cache_creation_input_tokens`.
  const written = count(details.cache_write_tokens) ?? count(u.cache_creation_input_tokens) ?? 0;
  return {
    promptTokens,
    cachedTokens,
    cacheWriteTokens: Math.min(written, promptTokens - cachedTokens),
    completionTokens: count(u.completion_tokens) ?? 0,
    cacheReported: cached !== null,
  };
}

/** A rough token count for text we saw but no origin counted (≈ 4 bytes a token). */
export function estimateTokens(byteLength: number): number {
  return Math.ceil(byteLength / 4);
}
