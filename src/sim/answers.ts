/**
 * What each choice of a chat completion says, decided before the first byte: plain text, JSON
 * (when `response_format` asks for it) or a function call (when the request offers function tools),
 * cut into completion tokens, capped, and with logprobs when asked.
 *
 * THE RULES.
 * - Choice i (0 ≤ i < n) has its own seed: the prompt seed for i = 0 (so n = 1 answers as before),
 *   FNV-1a 32 of "<prompt seed>/<i>" otherwise.
 * - A function call when `tool-choice.ts` says so: `arguments` is `JSON.stringify` of
 *   `schemaInstance(parameters, seed)` (`schema-instance.ts`), the schema's `type` forced to
 *   "object" (no `parameters` gives `{}`), its id `call_` + 24 hex digits
 *   drawn from the seed; `finish_reason` "tool_calls".
 * - Otherwise JSON when `response_format` is `{type: "json_schema", json_schema: {schema}}` (an
 *   instance of the schema) or `{type: "json_object"}` (or a json_schema without a schema):
 *   `{"answer": <the text answer, trimmed>}`; `finish_reason` "stop".
 * - Otherwise text: `generateCompletion(seed)` (`text.ts`), one vocabulary word per token.
 * - JSON and arguments are cut into tokens by `completionPieces` (at most 4 UTF-8 bytes each).
 * - The cap (`max_completion_tokens`, else `max_tokens`) applies to each choice: past it the
 *   answer stops mid-way, JSON included, with `finish_reason` "length", as a real model's does.
 * - `logprobs: true` gives each text or JSON answer `tokenLogprobs(tokens, seed, top_logprobs ?? 0)`
 *   (`logprobs.ts`); a function call has none.
 */
import { fnv1a32, mulberry32 } from "./hash";
import { tokenLogprobs, type TokenLogprob } from "./logprobs";
import { schemaInstance } from "./schema-instance";
import { generateCompletion } from "./text";
import { selectToolCall, type ToolRequest } from "./tool-choice";
import { completionPieces, utf8 } from "./tokens";

/** A choice that answers with content (text or JSON). */
export interface ContentAnswer {
  kind: "content";
  /** The content, one completion token each. */
  tokens: string[];
  finishReason: "stop" | "length";
  /** Per token, when the request asked for `logprobs`; otherwise null. */
  logprobs: TokenLogprob[] | null;
}

/** A choice that calls a function. */
export interface ToolCallAnswer {
  kind: "tool_call";
  id: string;
  name: string;
  /** The `arguments` JSON, one completion token each. */
  tokens: string[];
  finishReason: "tool_calls" | "length";
}

/** One choice of a completion. */
export type ChoiceAnswer = ContentAnswer | ToolCallAnswer;

/** The fields of a chat request the answers depend on. */
export interface AnswerRequest extends ToolRequest {
  n?: number | null | undefined;
  response_format?: unknown;
  logprobs?: boolean | null | undefined;
  top_logprobs?: number | null | undefined;
}

/** Every choice's answer, or the 400 a real server would give the request. */
export type AnswersPlan = { ok: true; answers: ChoiceAnswer[] } | { ok: false; message: string; param: string };

/** The seed of choice `index`: the prompt's own for choice 0. */
export function choiceSeed(promptSeed: number, index: number): number {
  return index === 0 ? promptSeed : fnv1a32(utf8(`${promptSeed}/${index}`));
}

/**
 * Decides every choice's answer (the rules above).
 * @example
 * planAnswers({ messages: [{ role: "user" }] }, 42, undefined) // { ok: true, answers: [{ kind: "content", ... }] }
 */
export function planAnswers(req: AnswerRequest, promptSeed: number, cap: number | null | undefined): AnswersPlan {
  const selection = selectToolCall(req);
  if (selection.kind === "invalid") return { ok: false, message: selection.message, param: selection.param };
  const json = jsonFormat(req.response_format);
  const answers: ChoiceAnswer[] = [];
  for (let i = 0; i < (req.n ?? 1); i++) {
    const seed = choiceSeed(promptSeed, i);
    if (selection.kind === "call") {
      const args = JSON.stringify(schemaInstance(objectSchema(selection.tool.parameters), seed));
      const { tokens, capped } = capTokens(completionPieces(args), cap);
      answers.push({ kind: "tool_call", id: callId(seed), name: selection.tool.name, tokens, finishReason: capped ? "length" : "tool_calls" });
      continue;
    }
    let tokens: string[];
    let capped: boolean;
    if (json) {
      const value = json.schema === undefined ? { answer: generateCompletion(seed).tokens.join("").trimEnd() } : schemaInstance(json.schema, seed);
      ({ tokens, capped } = capTokens(completionPieces(JSON.stringify(value)), cap));
    } else {
      const completion = generateCompletion(seed, cap);
      tokens = completion.tokens;
      capped = completion.finishReason === "length";
    }
    const logprobs = req.logprobs === true ? tokenLogprobs(tokens, seed, req.top_logprobs ?? 0) : null;
    answers.push({ kind: "content", tokens, finishReason: capped ? "length" : "stop", logprobs });
  }
  return { ok: true, answers };
}

/** A tool's `parameters` as an object schema: a function's arguments are always a JSON object. */
function objectSchema(parameters: unknown): Record<string, unknown> {
  const own = typeof parameters === "object" && parameters !== null && !Array.isArray(parameters) ? parameters : {};
  return { ...own, type: "object" };
}

/** The JSON mode `response_format` asks for, if any (`schema` undefined: any JSON object). */
function jsonFormat(format: unknown): { schema: unknown } | null {
  if (typeof format !== "object" || format === null) return null;
  const f = format as { type?: unknown; json_schema?: unknown };
  if (f.type === "json_object") return { schema: undefined };
  if (f.type !== "json_schema") return null;
  const spec = typeof f.json_schema === "object" && f.json_schema !== null ? (f.json_schema as { schema?: unknown }) : {};
  return { schema: typeof spec.schema === "object" && spec.schema !== null ? spec.schema : undefined };
}

function capTokens(tokens: string[], cap: number | null | undefined): { tokens: string[]; capped: boolean } {
  return cap != null && tokens.length > cap ? { tokens: tokens.slice(0, cap), capped: true } : { tokens, capped: false };
}

/** `call_` + 24 hex digits from the seed, like OpenAI's 24-character call ids. */
function callId(seed: number): string {
  const next = mulberry32(seed ^ 0x63616c6c); // "call"
  let hex = "";
  for (let i = 0; i < 3; i++) hex += Math.floor(next() * 0x1_0000_0000).toString(16).padStart(8, "0");
  return `call_${hex}`;
}
