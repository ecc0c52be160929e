/** Generators of malformed input the fuzz files share: text, JSON, headers, URL parts, credentials. */
import fc from "fast-check";

/** Any text: unicode (astral planes and lone surrogates included), control characters, and long runs. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom("", " ", "\u0000", "\ud800", "\u202e", "🙂".repeat(50), "a".repeat(5000), "null", "__proto__", "constructor", "../..", "%00", "\r\n"),
);

/** Any JSON value, shallow enough to stay small. */
export const anyJson = (maxDepth = 3): fc.Arbitrary<unknown> => fc.jsonValue({ maxDepth });

/** Numbers where integers are expected: zero, negatives, fractions, huge values, strings and other types. */
export const oddCount: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 300 }),
  fc.constantFrom(0, -1, 1.5, 1e20, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, "10", null, true, [], {}),
);

/** Malformed JSON texts, and JSON values of every shape. */
export const anyBody: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.json({ maxDepth: 4 }),
  fc.constantFrom(
    "",
    "{",
    "{}",
    "[]",
    "null",
    "1e400",
    '{"model":',
    '{"model":"chat-main","messages":[{"role":"user","content":"hi"}],}',
    "\ufeff{}",
    '{"__proto__":{"model":"chat-main"}}',
    '{"model":"chat-main","model":"embed-main"}',
    `{"a":${"[".repeat(5000)}${"]".repeat(5000)}}`,
    JSON.stringify({ model: "chat-main", messages: [{ role: "user", content: "x".repeat(70 * 1024) }] }),
  ),
);

/**
 * Text a client can put in a header: printable ASCII (fetch refuses CR, LF and NUL, and workerd
 * would send Latin-1 as UTF-8 with a warning each time; odd unicode goes into bodies and paths).
 */
export const headerText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom("", " ", "x".repeat(8000), "Bearer", "Bearer ", "null", "%FF%FE", String.raw`\u0000`),
);

/**
 * Credentials that are not a key of ours by their shape, so checking them never names a ledger:
 * other schemes, other providers' keys, `tr-` keys whose tenant part breaks the pattern.
 * (Keys of our shape for tenants that do not exist are `no-storage.test.ts`'s subject.)
 */
export const junkAuthorization: fc.Arbitrary<string> = fc.oneof(
  headerText.filter((t) => !/^\s*bearer\s+tr-/i.test(t)),
  headerText.filter((t) => !t.trimStart().startsWith("tr-")).map((t) => `Bearer ${t}`),
  fc.constantFrom("Basic dXNlcjpwYXNz", "Bearer sk-proj-abc", "Bearer tr-", "Bearer tr--", "Bearer tr-UPPER-x", "Bearer tr-a-b c", "Bearer tr-_a-b", "Bearer tr-a-b=", "Bearer a b", "Bearer\t", "Token abc"),
);

/** Text as a URL path segment or query value: UTF-8, percent-encoded byte by byte (a lone surrogate becomes U+FFFD). */
export function urlPart(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text.slice(0, 100))) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** A path segment: fuzzed text percent-encoded, or a raw oddity (bad escapes, dots, encoded slashes). */
export const pathSegment: fc.Arbitrary<string> = fc.oneof(
  anyText.map(urlPart),
  fc.constantFrom("%ZZ", "%E0%A4", "%", "..", ".", "%2e%2e", "a%2Fb", "%00", "x".repeat(300), "constructor", "__proto__", "toString", ""),
);

/** A query string of fuzzed pairs over the given parameter names (and unknown ones). */
export function queryString(names: readonly string[]): fc.Arbitrary<string> {
  const value = fc.oneof(
    anyText.map(urlPart),
    fc.constantFrom("", "0", "-1", "1e3", "9".repeat(30), "9".repeat(400), "2026-13-45", "NaN", "Infinity", "%ZZ", "json", "csv", "jsonl", "day", "model", "key", "origin"),
    fc.integer().map(String),
  );
  return fc
    .array(fc.tuple(fc.constantFrom(...names, "x", "", "limit[]"), value), { maxLength: 4 })
    .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`));
}

/** Up to two headers a client may add to an API call, with odd values (authorization is set by each file). */
export const apiHeaders: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constant("content-type"), fc.oneof(fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16"), headerText)),
      fc.tuple(fc.constant("x-priority"), fc.oneof(fc.constantFrom("interactive", "standard", "batch", "realtime", "INTERACTIVE"), headerText)),
      // Malformed boundaries only: a well-formed one that excludes every origin is a documented 503.
      fc.tuple(fc.constant("x-router-boundary"), fc.constantFrom("kind=", "kind=maas;", "nope", "kind=maas,self-hosted; region=", `origin=${"x".repeat(100)}`, "kind=cloud", "=", ";", "kind=maas;;")),
      fc.tuple(fc.constant("x-router-explain"), fc.constantFrom("1", "0", "yes")),
      fc.tuple(fc.constant("origin"), fc.constantFrom("https://evil.example", "null")),
      fc.tuple(fc.constantFrom("x-request-id", "accept", "openai-organization", "user-agent"), headerText),
      fc.tuple(fc.constant("accept-encoding"), fc.constantFrom("gzip", "br", "identity;q=0", "*")),
    ),
    { maxLength: 2 },
  )
  .map((pairs) => Object.fromEntries(pairs));

/**
 * Request bodies: mostly a valid request with none, one or two fields made odd by `mutation`,
 * sometimes no request at all (`anyBody`).
 */
export function mutatedBodies<T>(valid: fc.Arbitrary<T>, mutation: fc.Arbitrary<[string, unknown]>): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(valid, fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }) }))
        .map(([v, mutations]) => JSON.stringify({ ...v, ...Object.fromEntries(mutations) })),
    },
    { weight: 1, arbitrary: anyBody },
  );
}
