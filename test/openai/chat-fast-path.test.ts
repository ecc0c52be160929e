/**
 * The chat body's fast path (src/openai/chat-fast-path.ts) against zod, in workerd as deployed: on
 * every generated body it either declines or returns exactly what `chatRequestSchema` returns,
 * keys in the same order; and the common bodies do take it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHAT_KEYS, chatFastPath } from "../../src/openai/chat-fast-path";
import { chatRequestSchema, parseProxyRequest } from "../../src/openai/requests";

/** Values a field may hold, valid for some field or for none. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -0, 1, 2, 16, 128, 129, 1.5, 2.5, -1, 0.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e300, "", "m", "x".repeat(257), [], {}),
  fc.string({ maxLength: 8 }),
  fc.double({ noNaN: true }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Keys of the objects a body holds besides the schema's: passed through as they came. */
const otherKey = fc.constantFrom("name", "tools", "text", "image_url", "tool_calls", "0", "10", "zzz", "__proto__", "constructor");
/** Any key, the schema's and a message's included. */
const anyKey = fc.oneof({ weight: 3, arbitrary: otherKey }, { weight: 1, arbitrary: fc.constantFrom(...CHAT_KEYS, "role", "content", "type", "include_usage") });

/** An object of `keys` with generated values, in generated order (`__proto__` an own key, as JSON.parse makes it). */
function looseObject(keys: fc.Arbitrary<string>): fc.Arbitrary<Record<string, unknown>> {
  return fc.array(fc.tuple(keys, fieldValue), { maxLength: 4 }).map((pairs) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  });
}

/**
 * Chat bodies: with `hostile`, any field may hold anything and other keys may be the schema's;
 * without, every body is valid (other keys are never the schema's, `metadata` is absent or null).
 */
function chatBodies(hostile: boolean): fc.Arbitrary<unknown> {
  const mostly = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => (hostile ? fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: fieldValue }) : valid);
  const withExtra = <T extends object>(base: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    fc.tuple(base, looseObject(hostile ? anyKey : otherKey), fc.boolean()).map(([b, extra, first]) => (first ? { ...extra, ...b } : { ...b, ...extra }));
  const part = mostly(withExtra(fc.record({ type: mostly(fc.constantFrom("text", "image_url")) })));
  const content = fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.constant(undefined), fc.array(part, { maxLength: 3 }));
  const role = fc.constantFrom("system", "developer", "user", "assistant", "tool", "function");
  const message = mostly(withExtra(fc.record({ role: mostly(role), content: mostly(content) }, { requiredKeys: ["role"] })));
  const int = (max: number) => mostly(fc.integer({ min: 1, max }));
  const fraction = (max: number) => mostly(fc.double({ min: 0, max, noNaN: true }));
  return mostly(
    withExtra(
      fc.record(
        {
          model: mostly(fc.constantFrom("chat-default", "m", "x".repeat(256))),
          messages: mostly(fc.array(message, { minLength: 1, maxLength: 3 })),
          stream: mostly(fc.oneof(fc.boolean(), fc.constant(null))),
          stream_options: mostly(fc.oneof(fc.constant(null), withExtra(fc.record({ include_usage: mostly(fc.boolean()) }, { requiredKeys: [] })))),
          max_tokens: int(Number.MAX_SAFE_INTEGER),
          max_completion_tokens: int(100_000),
          n: int(128),
          temperature: fraction(2),
          top_p: fraction(1),
          user: mostly(fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.constant("u".repeat(256)))),
          metadata: mostly(fc.constant(null)),
        },
        { requiredKeys: ["model", "messages"] },
      ),
    ),
  );
}

/** A value's keys at every depth, in order: what `toStrictEqual` does not compare. */
function keyOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keyOrder);
  if (typeof v !== "object" || v === null) return null;
  return Object.keys(v).map((k) => [k, keyOrder((v as Record<string, unknown>)[k])]);
}

describe("chat body fast path", () => {
  it("names the schema's keys in the schema's order", () => {
    expect(CHAT_KEYS).toEqual(Object.keys(chatRequestSchema.shape));
  });

  /** `fast` is what zod makes of `value`, to the order of its keys at every depth. */
  function expectZodsResult(value: unknown, fast: unknown): void {
    const parsed = chatRequestSchema.safeParse(value);
    expect(parsed.success).toBe(true);
    expect(fast).toStrictEqual(parsed.data);
    expect(keyOrder(fast)).toEqual(keyOrder(parsed.data));
    expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
  }

  it("takes every valid body of the common shape, and returns what zod returns", () => {
    fc.assert(
      fc.property(chatBodies(false), (value) => {
        const fast = chatFastPath(value);
        expect(fast).toBeDefined();
        expectZodsResult(value, fast);
      }),
      { numRuns: 1000 },
    );
  });

  it("on any body, returns what zod returns or declines", () => {
    fc.assert(
      fc.property(chatBodies(true), (value) => {
        const fast = chatFastPath(value);
        if (fast !== undefined) expectZodsResult(value, fast);
      }),
      { numRuns: 3000 },
    );
  });

  it("takes the bodies clients send", () => {
    const bodies = [
      { model: "chat-default", max_tokens: 16, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] },
      { model: "m", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "https://x/y.png" } }] }] },
      { model: "m", messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] }, { role: "tool", tool_call_id: "c1", content: "42" }], tools: [{ type: "function", function: { name: "f" } }], temperature: 0.2, top_p: 1, n: 1, user: "u1", response_format: { type: "json_object" } },
    ];
    for (const b of bodies) {
      const value = JSON.parse(JSON.stringify(b)) as unknown;
      const fast = chatFastPath(value);
      expect(fast).toBeDefined();
      expect(JSON.stringify(fast)).toBe(JSON.stringify(chatRequestSchema.parse(value)));
    }
  });

  it("leaves bad bodies and rare shapes to zod, whose 400 names the field", () => {
    for (const [value, param] of [
      [{ model: "m", messages: [] }, "messages"],
      [{ model: "m", messages: [{ role: "robot", content: "x" }] }, "messages[0].role"],
      [{ model: "m", messages: [{ role: "user" }], max_tokens: 0 }, "max_tokens"],
      [{ messages: [{ role: "user" }] }, "model"],
    ] as const) {
      expect(chatFastPath(value)).toBeUndefined();
      expect(() => parseProxyRequest("chat", value)).toThrow(expect.objectContaining({ failure: expect.objectContaining({ param }) }));
    }
    const withMetadata = { model: "m", messages: [{ role: "user" }], metadata: { a: "b" } };
    expect(chatFastPath(withMetadata)).toBeUndefined();
    expect(parseProxyRequest("chat", withMetadata).body).toStrictEqual(chatRequestSchema.parse(withMetadata));
  });
});
