/**
 * How far a candidate's answer agrees with the answer the client got for the same request: the
 * same tool calls, JSON that parses on both sides, and a similarity of the texts. A whole chat
 * completion is compared from its JSON; a streamed one from what the relay collected of its deltas
 * (content and tool calls, as the quality gates see it), so streamed requests are compared too. Pure.
 *
 * The similarity is the Sørensen-Dice coefficient of the two texts' word multisets,
 * 2·|A ∩ B| / (|A| + |B|): 1 for the same words in any order, 0 for none in common. It is crude
 * (no synonyms, no meaning), cheap, and says plainly when two models answer differently.
 */
import { isRecord } from "../lib/checks";
import { tooDeepAt } from "../lib/json-depth";

export interface Agreement {
  /** 0..1 (4 decimals): of the contents, or of the tool calls' arguments when either calls one. */
  similarity: number;
  /** Whether both called the same functions with equal arguments; null when neither called one. */
  toolCalls: boolean | null;
  /** Whether each answer's content parses as JSON; null when the request did not ask for JSON. */
  json: { baseline: boolean; candidate: boolean } | null;
}

interface Message {
  content: string;
  calls: Array<{ name: string; arguments: string }>;
}

/** An answer to compare: a chat completion's JSON text, or a stream's collected answer. */
export type ComparableAnswer = string | { content: string; toolCalls: Array<{ name: string; arguments: string }> };

/** The first choice's message of an answer, or null when a JSON text has none. */
function messageOf(answer: ComparableAnswer): Message | null {
  if (typeof answer !== "string") return { content: answer.content, calls: answer.toolCalls };
  const text = answer;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  const choice = isRecord(body) && Array.isArray(body.choices) ? body.choices[0] : undefined;
  const message = isRecord(choice) ? choice.message : undefined;
  if (!isRecord(message)) return null;
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  return {
    content: typeof message.content === "string" ? message.content : "",
    calls: calls.filter(isRecord).map((c) => {
      const fn = isRecord(c.function) ? c.function : {};
      return { name: typeof fn.name === "string" ? fn.name : "", arguments: typeof fn.arguments === "string" ? fn.arguments : "" };
    }),
  };
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const NOT_COMPARABLE = Symbol("not comparable");

/** The JSON of an origin's text, when it is JSON that may be walked (lib/json-depth.ts). */
function comparable(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return tooDeepAt(value) === undefined ? value : NOT_COMPARABLE;
  } catch {
    return NOT_COMPARABLE;
  }
}

/** JSON values equal whatever the order of object keys; unparseable (or too deeply nested) arguments compare as text. */
function sameArguments(a: string, b: string): boolean {
  const x = comparable(a);
  const y = comparable(b);
  if (x === NOT_COMPARABLE || y === NOT_COMPARABLE) return a === b;
  return canonical(x) === canonical(y);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  return JSON.stringify(value);
}

/**
 * The Sørensen-Dice coefficient of two texts' lower-cased word multisets; two empty texts agree.
 *
 * @example
 * textSimilarity("the cat sat", "The cat ran") // 0.6667
 */
export function textSimilarity(a: string, b: string): number {
  const words = (s: string) => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const left = words(a);
  const right = words(b);
  if (left.length === 0 && right.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const w of left) counts.set(w, (counts.get(w) ?? 0) + 1);
  let shared = 0;
  for (const w of right) {
    const n = counts.get(w) ?? 0;
    if (n > 0) {
      shared++;
      counts.set(w, n - 1);
    }
  }
  return Math.round(((2 * shared) / (left.length + right.length)) * 10_000) / 10_000;
}

/**
 * Compares two answers to one request (JSON text or a stream's collected answer, in any mix);
 * null when a JSON text is not a chat completion.
 *
 * @example
 * compareAnswers(servedText, shadowText, false) // { similarity: 0.42, toolCalls: null, json: null }
 * compareAnswers(servedText, { content: "streamed words", toolCalls: [] }, false)
 */
export function compareAnswers(baseline: ComparableAnswer, candidate: ComparableAnswer, wantsJson: boolean): Agreement | null {
  const a = messageOf(baseline);
  const b = messageOf(candidate);
  if (!a || !b) return null;
  const calls = a.calls.length > 0 || b.calls.length > 0;
  const toolCalls = calls ? a.calls.length === b.calls.length && a.calls.every((c, i) => c.name === b.calls[i]!.name && sameArguments(c.arguments, b.calls[i]!.arguments)) : null;
  const text = (m: Message) => (calls ? m.calls.map((c) => `${c.name} ${c.arguments}`).join(" ") : m.content);
  return {
    similarity: textSimilarity(text(a), text(b)),
    toolCalls,
    json: wantsJson ? { baseline: parses(a.content), candidate: parses(b.content) } : null,
  };
}

/** Whether a chat request asks for JSON content (`response_format` json_object or json_schema). */
export function wantsJson(body: Readonly<Record<string, unknown>>): boolean {
  const format = body.response_format;
  return isRecord(format) && (format.type === "json_object" || format.type === "json_schema");
}
