/**
 * What an origin receives. Headers are built from an allow-list, not copied and filtered: the
 * client's credentials, cookies, hop-by-hop headers (RFC 9110 §7.6.1) and Cloudflare's own
 * `cf-*` headers can never leak to an origin because nothing is forwarded unless named here.
 */
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
  const headers = new Headers({ "content-type": "application/json", "x-request-id": requestId });
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

/**
 * The body an origin receives: the client's, with the origin's model name, for streams
 * `stream_options.include_usage` forced on so the router always learns what was used, and the
 * router's `prompt_cache_key` when given and the client set none. Everything else, Anthropic-style
 * `cache_control` markers included, passes through untouched.
 */
export function upstreamBody(body: Record<string, unknown>, model: string, stream: boolean, promptCacheKey: string | null = null): string {
  const out: Record<string, unknown> = { ...body, model };
  if (promptCacheKey !== null && (body.prompt_cache_key === undefined || body.prompt_cache_key === null)) out.prompt_cache_key = promptCacheKey;
  if (stream) {
    const options = typeof body.stream_options === "object" && body.stream_options !== null ? body.stream_options : {};
    out.stream_options = { ...options, include_usage: true };
  }
  return JSON.stringify(out);
}
