/**
 * Scrubbing secrets out of origin text the router passes on (issue #12, item 4). An origin's error
 * message can quote what it received: one 400 quoted the router's own `Authorization` value back
 * to the tenant. Every configured secret value is replaced, and so is anything shaped like a
 * credential (a bearer token, an `sk-…` API key, one of our `tr-…` keys, `api_key=…`), whether or
 * not the router knows it: an origin may quote a key of its own.
 */

/** What a scrubbed secret becomes. */
export const REDACTED = "[redacted]";

/** Shorter configured values are not scrubbed: replacing "abc" everywhere would mangle text, and such a secret protects nothing. */
const MIN_SECRET_LENGTH = 8;

/** Credential shapes, each with what stays of it (its label) so the message still reads. */
const CREDENTIAL_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // RFC 6750 bearer tokens and Basic credentials, as quoted from an Authorization header.
  [/\b(Bearer|Basic)\s+[^\s"',;]{8,}/gi, `$1 ${REDACTED}`],
  // OpenAI-style keys (also DeepSeek's, Anthropic's `sk-ant-…`) and our own tenant keys.
  [/\bsk-[A-Za-z0-9_-]{16,}/g, `sk-${REDACTED}`],
  [/\btr-[a-z0-9][a-z0-9_]{0,39}-[A-Za-z0-9_-]{16,}/g, `tr-${REDACTED}`],
  // `api_key=…`, `"token": "…"`, `x-api-key: …` and the like.
  [/\b((?:x-)?api[_-]?key|access[_-]?token|token|secret|password)(["']?\s*[:=]\s*["']?)[^\s"',;&]{8,}/gi, `$1$2${REDACTED}`],
];

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A function that scrubs text. */
export type Scrub = (text: string) => string;

/**
 * A scrubber for the given secret values (unset and short ones are skipped), longest first so a
 * secret containing another is replaced whole.
 * @example
 * const scrub = secretScrubber(["sk-live-abcdefgh12345678"]);
 * scrub("bad key sk-live-abcdefgh12345678") // "bad key [redacted]"
 */
export function secretScrubber(values: ReadonlyArray<string | undefined>): Scrub {
  const known = [...new Set(values.filter((v): v is string => typeof v === "string" && v.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
  const exact = known.length > 0 ? new RegExp(known.map(escapeRegExp).join("|"), "g") : null;
  return (text) => {
    let out = exact ? text.replace(exact, REDACTED) : text;
    for (const [pattern, replacement] of CREDENTIAL_PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

/** Every string inside a parsed JSON value, scrubbed; other values as they are. */
export function scrubJson(value: unknown, scrub: Scrub, depth = 0): unknown {
  if (typeof value === "string") return scrub(value);
  // Error bodies are shallow; a deeper structure is cut rather than walked without bound.
  if (depth > 16 || typeof value !== "object" || value === null) return typeof value === "object" && value !== null ? null : value;
  if (Array.isArray(value)) return value.map((v) => scrubJson(v, scrub, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubJson(v, scrub, depth + 1)]));
}

const byConfig = new WeakMap<object, Scrub>();

/**
 * The scrubber of a deployment: every origin's API key (by the secret name its config gives) and
 * the router's own tokens. Built once per config object and isolate (a regex per request would be
 * waste: secrets change only with a new config or a new isolate).
 */
export function configuredScrubber(
  config: { origins: Readonly<Record<string, { apiKeySecret?: string | undefined }>> },
  readSecret: (name: string) => string | undefined,
  routerSecrets: ReadonlyArray<string | undefined>,
): Scrub {
  let scrub = byConfig.get(config);
  if (!scrub) {
    const originKeys = Object.values(config.origins).map((o) => (o.apiKeySecret ? readSecret(o.apiKeySecret) : undefined));
    scrub = secretScrubber([...originKeys, ...routerSecrets]);
    byConfig.set(config, scrub);
  }
  return scrub;
}
