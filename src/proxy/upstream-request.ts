/**
 * What an origin receives. Headers are built from an allow-list, not copied and filtered: the
 * client's credentials, cookies, hop-by-hop headers (RFC 9110 §7.6.1) and Cloudflare's own
 * `cf-*` headers can never leak to an origin because nothing is forwarded unless named here.
 */
import { forwardedTier } from "../config/origins";
import { PROVIDER_PROFILES } from "../config/providers";
import type { OriginConfig } from "../config/schema";

/** Client headers an origin may see, copied as they are. */
const FORWARDED_HEADERS = ["accept", "accept-language", "user-agent", "openai-beta"] as const;

/** Reads a secret by the name the config gives; origin keys are Worker secrets. */
export type SecretReader = (name: string) => string | undefined;

/** The headers of a request to `origin`, or null when its API key secret is missing. */
export function upstreamHeaders(
  client: Headers,
  origin: OriginConfig,
  requestId: string,
  readSecret: SecretReader,
): Headers | null {
  // set() calls: a plain-object init goes through workerd's generic conversion, which costs more.
  const headers = new Headers();
  headers.set("content-type", "application/json");
  headers.set("x-request-id", requestId);
  for (const name of FORWARDED_HEADERS) {
    const value = client.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (origin.apiKeySecret) {
    const key = readSecret(origin.apiKeySecret);
    if (!key) return null;
    const { header, scheme } = PROVIDER_PROFILES[origin.provider].auth;
    headers.set(header, scheme === "bearer" ? `Bearer ${key}` : key);
  }
  return headers;
}

/** Where each upstream endpoint lives under an origin's base URL. */
export const UPSTREAM_PATHS = { chat: "/chat/completions", embeddings: "/embeddings", completions: "/completions", responses: "/responses" } as const;

/** An endpoint the router calls on origins. */
export type UpstreamEndpoint = keyof typeof UPSTREAM_PATHS;

/** Where a body goes: the origin and the model name it knows. */
export interface UpstreamTarget {
  origin: OriginConfig;
  model: string;
}

function positive(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : null;
}

/**
 * The body an origin receives: the client's, with what its provider needs (the table in
 * `config/providers.ts`). Everything else, Anthropic-style `cache_control` markers included,
 * passes through untouched.
 * - `model`: the origin's name for it.
 * - chat's output cap (`max_completion_tokens`, else `max_tokens`; the router's own when it set
 *   one) in the provider's field, and only there.
 * - `service_tier` only when the origin prices that tier (`serviceTiers`), else stripped.
 * - a chat or legacy completions stream asks for usage (`stream_options.include_usage`, the
 *   client's other options kept) from a provider that reports it only when asked (a Responses
 *   stream always reports it, in `response.completed`); `stream_options` is dropped from a request
 *   that does not stream (OpenAI refuses it there).
 * - the router's `prompt_cache_key` on chat and Responses requests, for a provider that takes one,
 *   when the client set none (OpenAI documents it for both, not for legacy completions).
 * A Responses request comes with its cap in `max_output_tokens` already (`nativeRequest`).
 */
export function upstreamBody(body: Record<string, unknown>, endpoint: UpstreamEndpoint, target: UpstreamTarget, stream: boolean, promptCacheKey: string | null = null): string {
  const { origin, model } = target;
  const profile = PROVIDER_PROFILES[origin.provider];
  const out: Record<string, unknown> = { ...body, model };
  if ((endpoint === "chat" || endpoint === "responses") && promptCacheKey !== null && profile.promptCacheKey && (body.prompt_cache_key === undefined || body.prompt_cache_key === null)) out.prompt_cache_key = promptCacheKey;
  if (body.service_tier !== undefined && forwardedTier(origin, body.service_tier) === null) delete out.service_tier;
  if (endpoint === "chat") {
    const cap = positive(body.max_completion_tokens) ?? positive(body.max_tokens);
    delete out.max_completion_tokens;
    delete out.max_tokens;
    if (cap !== null) out[profile.outputCapField] = cap;
  }
  if (!stream) delete out.stream_options;
  else if (profile.streamUsage === "on_request" && endpoint !== "responses") {
    const options = typeof body.stream_options === "object" && body.stream_options !== null ? body.stream_options : {};
    out.stream_options = { ...options, include_usage: true };
  }
  return JSON.stringify(out);
}
