/**
 * A chat request body of the common shape, validated without zod. On workerd, zod cannot compile
 * its object parsers (no `new Function` there), and its generic walk over `chatRequestSchema` was
 * the largest single piece of the router's own JavaScript per request.
 *
 * `chatFastPath` answers only for bodies it can judge with certainty: ones `chatRequestSchema`
 * accepts, returning what zod would return, to the order of keys (the upstream body is serialized
 * from it): each object rebuilt with the schema's keys first, in the schema's order (an absent
 * optional key stays absent), then its other keys as `for...in` yields them, `__proto__` dropped,
 * their values as they came. Anything else, every invalid body and the rare shapes (`metadata`,
 * numbers past the safe integers), is left to zod (`undefined`), which says what is wrong.
 * test/openai/chat-fast-path.test.ts holds it to zod's output on generated bodies.
 */
import { intIn, isRecord, numberIn } from "../lib/checks";
import type { ChatRequest } from "./requests";

type Loose = Record<string, unknown>;

const nullish = (v: unknown) => v === undefined || v === null;

/** The top-level keys of `chatRequestSchema`, in its order, and what each accepts (`metadata`: only its absence). */
const CHAT_FIELDS: ReadonlyArray<readonly [string, (v: unknown) => boolean]> = [
  ["model", (v) => typeof v === "string" && v.length >= 1 && v.length <= 256],
  ["messages", () => true], // checked and rebuilt apart
  ["stream", (v) => nullish(v) || typeof v === "boolean"],
  ["stream_options", () => true], // checked and rebuilt apart
  ["max_tokens", (v) => nullish(v) || intIn(v, 1, Number.MAX_SAFE_INTEGER)],
  ["max_completion_tokens", (v) => nullish(v) || intIn(v, 1, Number.MAX_SAFE_INTEGER)],
  ["n", (v) => nullish(v) || intIn(v, 1, 128)],
  ["temperature", (v) => nullish(v) || numberIn(v, 0, 2)],
  ["top_p", (v) => nullish(v) || numberIn(v, 0, 1)],
  ["user", (v) => nullish(v) || (typeof v === "string" && v.length <= 256)],
  ["metadata", nullish],
];
export const CHAT_KEYS: readonly string[] = CHAT_FIELDS.map(([key]) => key);
const CHAT_KEY_SET = new Set(CHAT_KEYS);
const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);
const TYPE_KEY = new Set(["type"]);
const MESSAGE_KEYS = new Set(["role", "content"]);
const STREAM_OPTION_KEYS = new Set(["include_usage"]);

/** Adds `input`'s keys that are not `known` to `out`, as zod's loose objects do. */
function copyRest(input: Loose, known: ReadonlySet<string>, out: Loose): Loose {
  for (const key in input) {
    if (known.has(key) || key === "__proto__") continue;
    out[key] = input[key];
  }
  return out;
}

/** A content part (`{type, ...}`), rebuilt; undefined when zod must judge it. */
function contentPart(v: unknown): Loose | undefined {
  if (!isRecord(v) || typeof v.type !== "string" || v.type.length === 0) return undefined;
  return copyRest(v, TYPE_KEY, { type: v.type });
}

/** Every item rebuilt by `rebuild`; undefined when zod must judge one of them. */
function rebuiltAll(items: readonly unknown[], rebuild: (v: unknown) => Loose | undefined): Loose[] | undefined {
  const out: Loose[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = rebuild(items[i]);
    if (!item) return undefined;
    out.push(item);
  }
  return out;
}

/** A message, rebuilt; undefined when zod must judge it. */
function message(v: unknown): Loose | undefined {
  if (!isRecord(v) || typeof v.role !== "string" || !ROLES.has(v.role)) return undefined;
  const out: Loose = { role: v.role };
  if ("content" in v) {
    const content = v.content;
    if (Array.isArray(content)) {
      const parts = rebuiltAll(content, contentPart);
      if (!parts) return undefined;
      out.content = parts;
    } else if (content === undefined || content === null || typeof content === "string") {
      out.content = content;
    } else {
      return undefined;
    }
  }
  return copyRest(v, MESSAGE_KEYS, out);
}

/** `stream_options`, rebuilt; undefined when zod must judge it. */
function streamOptions(v: Loose): Loose | undefined {
  const out: Loose = {};
  if ("include_usage" in v) {
    if (v.include_usage !== undefined && typeof v.include_usage !== "boolean") return undefined;
    out.include_usage = v.include_usage;
  }
  return copyRest(v, STREAM_OPTION_KEYS, out);
}

/** What `chatRequestSchema.parse(value)` returns, when `value` is a valid body of the common shape; else undefined. */
export function chatFastPath(value: unknown): ChatRequest | undefined {
  if (!isRecord(value)) return undefined;
  const out: Loose = {};
  for (const [key, valid] of CHAT_FIELDS) {
    if (!(key in value)) {
      if (key === "model" || key === "messages") return undefined;
      continue;
    }
    const v = value[key];
    if (!valid(v)) return undefined;
    if (key === "messages") {
      if (!Array.isArray(v) || v.length === 0) return undefined;
      const messages = rebuiltAll(v, message);
      if (!messages) return undefined;
      out.messages = messages;
    } else if (key === "stream_options" && !nullish(v)) {
      if (!isRecord(v)) return undefined;
      const options = streamOptions(v);
      if (!options) return undefined;
      out.stream_options = options;
    } else {
      out[key] = v;
    }
  }
  return copyRest(value, CHAT_KEY_SET, out) as ChatRequest;
}
