/**
 * A deterministic value that fits a JSON Schema: what the simulator puts in tool-call `arguments`
 * and in structured outputs (`response_format`), so agent code gets JSON that parses and validates.
 *
 * The subset real tool definitions use (OpenAI's Structured Outputs subset, and what zod-to-json-schema
 * and pydantic emit): `type` (a name or a list of names), `enum`, `const`, `default`, `nullable`,
 * `object` (`properties`, `required`), `array` (`items`, `minItems`, `maxItems`), `string` (`minLength`,
 * `maxLength`, a few `format`s), `number` / `integer` (`minimum`, `maximum`, `exclusiveMinimum`,
 * `exclusiveMaximum`), `boolean`, `null`, `anyOf` / `oneOf` (the first branch that is not `null`),
 * `allOf` (merged), and `$ref` to a JSON pointer in the same schema (`#/$defs/X`, `#/definitions/X`, `#`).
 * Not honoured: `pattern`, `multipleOf`, `uniqueItems`, `not`, `if`/`then`, `patternProperties`.
 *
 * THE RULES, in order, for a schema (after `$ref` and `allOf` are resolved):
 *   `const` → it; `enum` → one of its values (seeded); `default` → it;
 *   otherwise by type: the first listed type that is not "null" (a schema with no `type` is an
 *   object if it has `properties`, an array if it has `items`, else a string):
 *   - object: every property in declaration order (required ones always), none added;
 *   - array: max(minItems, 1) items, at most maxItems, at most 3;
 *   - string: a vocabulary word (seeded), padded with more words to `minLength`, cut at `maxLength`;
 *     `date-time`, `date`, `time`, `email`, `uri`/`url`, `uuid`, `ipv4`, `hostname` get a value of
 *     that format;
 *   - integer: seeded in [minimum, maximum] (exclusive bounds moved inwards by 1; a missing minimum
 *     is 0, or maximum − 100 when the maximum is negative; a missing maximum is minimum + 100; a
 *     range wider than 1000 is narrowed to its first 1000); number: the same (an integer), or the
 *     middle of the range when it holds no integer;
 *   - boolean: seeded; null: null.
 * Bounds, because a schema is client input: nesting deeper than 8 levels, or more than 512 values
 * generated, yields the type's smallest value (`{}`, `[]`, `""`, the minimum, `false`) with no
 * further recursion; `$ref` chains stop after 16 hops; strings are at most 4096 characters.
 */
import { fnv1a32, mulberry32 } from "./hash";
import { VOCABULARY } from "./text";
import { utf8 } from "./tokens";

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

type Schema = Readonly<Record<string, unknown>>;

const MAX_DEPTH = 8;
const MAX_VALUES = 512;
const MAX_ITEMS = 3;
const MAX_STRING = 4096;
const MAX_REF_HOPS = 16;
const MAX_INT_RANGE = 1000;

const TYPES = ["object", "array", "string", "integer", "number", "boolean", "null"] as const;
type TypeName = (typeof TYPES)[number];

/**
 * A value fitting `schema` (where the rules above can), the same for the same schema and seed.
 * @example
 * schemaInstance({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }, 7)
 * // { city: "<a vocabulary word>" }
 */
export function schemaInstance(schema: unknown, seed: number): JsonValue {
  const root = asSchema(schema) ?? {};
  const next = mulberry32(seed);
  let values = 0;

  const generate = (raw: Schema, depth: number): JsonValue => {
    const s = resolve(raw, root);
    values++;
    if ("const" in s) return toJson(s.const);
    if (Array.isArray(s.enum) && s.enum.length > 0) return toJson(s.enum[Math.floor(next() * s.enum.length)]);
    if ("default" in s && s.default !== undefined) return toJson(s.default);
    const type = typeOf(s);
    const shallow = depth >= MAX_DEPTH || values > MAX_VALUES;
    switch (type) {
      case "null":
        return null;
      case "boolean":
        return shallow ? false : next() < 0.5;
      case "integer":
      case "number":
        return numberIn(s, type, shallow ? 0 : next());
      case "string":
        return shallow ? stringOfLength("", s) : stringFor(s, next);
      case "array": {
        if (shallow) return [];
        const items = asSchema(s.items) ?? {};
        const count = Math.min(Math.max(count0(s.minItems), 1), count0(s.maxItems, MAX_ITEMS), MAX_ITEMS);
        const out: JsonValue[] = [];
        for (let i = 0; i < count; i++) out.push(generate(items, depth + 1));
        return out;
      }
      case "object": {
        if (shallow) return {};
        const properties = asSchema(s.properties) ?? {};
        const required = Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === "string") : [];
        const entries: Array<[string, JsonValue]> = [];
        for (const [name, sub] of Object.entries(properties)) {
          if (values > MAX_VALUES && !required.includes(name)) continue;
          entries.push([name, generate(asSchema(sub) ?? {}, depth + 1)]);
        }
        for (const name of required) {
          if (!Object.hasOwn(properties, name)) entries.push([name, generate({}, depth + 1)]);
        }
        // fromEntries defines own properties: a property named "__proto__" stays a property.
        return Object.fromEntries(entries);
      }
    }
  };
  return generate(root, 0);
}

/** A seed for `schemaInstance` from a string (e.g. a tool name and a request's seed). */
export function stringSeed(text: string): number {
  return fnv1a32(utf8(text));
}

function asSchema(value: unknown): Schema | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Schema) : undefined;
}

/** A schema with `$ref` followed, `allOf` merged and `anyOf` / `oneOf` narrowed to one branch. */
function resolve(schema: Schema, root: Schema): Schema {
  let s = schema;
  for (let hops = 0; hops < MAX_REF_HOPS; hops++) {
    if (typeof s.$ref === "string") {
      const { $ref, ...rest } = s;
      s = { ...(pointer(root, $ref) ?? {}), ...rest };
      continue;
    }
    if (Array.isArray(s.allOf)) {
      const { allOf, ...rest } = s;
      s = [...allOf.map(asSchema).filter((b): b is Schema => b !== undefined), rest].reduce(merge, {});
      continue;
    }
    const branches = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined;
    if (branches) {
      const { anyOf: _a, oneOf: _o, ...rest } = s;
      const schemas = branches.map(asSchema).filter((b): b is Schema => b !== undefined);
      // An optional field is written `anyOf: [X, {type: "null"}]`; X is the interesting branch.
      const pick = schemas.find((b) => b.type !== "null") ?? schemas[0] ?? {};
      s = { ...rest, ...pick };
      continue;
    }
    return s;
  }
  return s;
}

/** Two schemas as one: their keys, with `properties` merged and `required` joined. */
function merge(a: Schema, b: Schema): Schema {
  const out: Record<string, unknown> = { ...a, ...b };
  if (a.properties !== undefined || b.properties !== undefined) {
    out.properties = { ...(asSchema(a.properties) ?? {}), ...(asSchema(b.properties) ?? {}) };
  }
  if (a.required !== undefined || b.required !== undefined) {
    out.required = [...(Array.isArray(a.required) ? a.required : []), ...(Array.isArray(b.required) ? b.required : [])];
  }
  return out;
}

/** The schema a local JSON pointer (RFC 6901, as a URI fragment) names, if any. */
function pointer(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith("#")) return undefined;
  let at: unknown = root;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    const node = asSchema(at);
    if (!node || !Object.hasOwn(node, key)) return undefined;
    at = node[key];
  }
  return asSchema(at);
}

function isTypeName(value: unknown): value is TypeName {
  return typeof value === "string" && (TYPES as readonly string[]).includes(value);
}

function typeOf(s: Schema): TypeName {
  const listed = Array.isArray(s.type) ? s.type.filter(isTypeName) : isTypeName(s.type) ? [s.type] : [];
  const chosen = listed.find((t) => t !== "null") ?? listed[0];
  if (chosen) return chosen;
  if (asSchema(s.properties)) return "object";
  if (s.items !== undefined) return "array";
  return "string";
}

/** A JSON copy of a value taken from the schema (it came from parsed JSON; guard anyway). */
function toJson(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

function finite(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function count0(value: unknown, fallback = 0): number {
  const n = finite(value);
  return n === undefined || n < 0 ? fallback : Math.floor(n);
}

function numberIn(s: Schema, type: "integer" | "number", r: number): number {
  const exMin = finite(s.exclusiveMinimum);
  const exMax = finite(s.exclusiveMaximum);
  const min = finite(s.minimum) ?? (exMin !== undefined ? exMin + 1 : undefined);
  const max = finite(s.maximum) ?? (exMax !== undefined ? exMax - 1 : undefined);
  const lo = Math.ceil(min ?? (max !== undefined && max < 0 ? max - 100 : 0));
  const hi = Math.min(Math.floor(max ?? lo + 100), lo + MAX_INT_RANGE);
  if (lo <= hi) return lo + Math.floor(r * (hi - lo + 1));
  // No integer in range: an integer cannot fit; a number takes the middle.
  const a = min ?? exMin ?? 0;
  const b = max ?? exMax ?? a;
  return type === "number" ? (a + b) / 2 : lo;
}

function word(next: () => number): string {
  return VOCABULARY[Math.floor(next() * VOCABULARY.length)] ?? "token";
}

function stringFor(s: Schema, next: () => number): string {
  switch (s.format) {
    case "date-time":
      return "2024-01-01T00:00:00Z";
    case "date":
      return "2024-01-01";
    case "time":
      return "00:00:00";
    case "email":
      return `${word(next)}@example.com`;
    case "uri":
    case "url":
      return `https://example.com/${word(next)}`;
    case "uuid": {
      const hex = [0, 1, 2, 3].map(() => Math.floor(next() * 0x1_0000_0000).toString(16).padStart(8, "0")).join("");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    }
    case "ipv4":
      return "192.0.2.1";
    case "hostname":
      return "example.com";
  }
  const min = Math.min(count0(s.minLength), MAX_STRING);
  let out = word(next);
  while (out.length < min) out += ` ${word(next)}`;
  return stringOfLength(out, s);
}

/** `text` padded to `minLength` and cut at `maxLength` (both capped at 4096 characters). */
function stringOfLength(text: string, s: Schema): string {
  const min = Math.min(count0(s.minLength), MAX_STRING);
  const max = Math.min(count0(s.maxLength, MAX_STRING), MAX_STRING);
  return text.padEnd(min, "x").slice(0, Math.max(max, 0));
}
