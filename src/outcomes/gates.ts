/**
 * Automatic quality gates (issue #19 §1): cheap judgments of an answer that count beside human
 * feedback, opt-in per scenario (`qualityGates`). Pure: an answer as the router saw it (a whole
 * JSON answer, or what a relayed stream carried) and the request that asked for it.
 *
 * - `json`: when the request asked for JSON (`response_format` `json_object` or `json_schema`), the
 *   content parses; with a `json_schema`, it also matches the schema (converted by zod's
 *   `z.fromJSONSchema`; a schema it cannot convert is checked for parsing only, and says so).
 * - `finishReason`: no choice ended with `length` (cut short by its output cap).
 * - `toolArguments`: every tool call's `arguments` parse as a JSON object.
 */
import { z } from "zod";
import type { QualityGates } from "./schema";
import { isRecord } from "../lib/checks";

/** What the gates look at: the first choice's text and tool calls, and every choice's finish reason. */
export interface GateAnswer {
  content: string;
  toolCalls: Array<{ name: string; arguments: string }>;
  finishReasons: string[];
}

export type GateName = "json" | "schema" | "finishReason" | "toolArguments";

/** What the gates said of one answer: each check that applied, and whether all passed. */
export interface GateResult {
  passed: boolean;
  checks: Partial<Record<GateName, boolean>>;
}

function parsed(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Whether any gate is on. */
export function gatesOn(gates: QualityGates | undefined): gates is QualityGates {
  return gates !== undefined && (gates.json || gates.finishReason || gates.toolArguments);
}

/** The JSON Schema a request asked its content to match, or undefined (none asked, or JSON of any shape). */
function requestedSchema(body: Readonly<Record<string, unknown>>): unknown {
  const format = body.response_format;
  if (!isRecord(format) || format.type !== "json_schema" || !isRecord(format.json_schema)) return undefined;
  return format.json_schema.schema;
}

function wantsJson(body: Readonly<Record<string, unknown>>): boolean {
  const format = body.response_format;
  return isRecord(format) && (format.type === "json_object" || format.type === "json_schema");
}

/** Whether `value` matches a JSON Schema; null when the schema cannot be checked here. */
function matchesSchema(schema: unknown, value: unknown): boolean | null {
  if (!isRecord(schema) && typeof schema !== "boolean") return null;
  let validator: z.ZodType;
  try {
    validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    return null;
  }
  return validator.safeParse(value).success;
}

/**
 * The gates' verdict on an answer, or null when no gate applied to it (none on, or none relevant:
 * no JSON asked, no tool called, and the finish-reason gate off).
 *
 * @example
 * judge({ json: true, finishReason: true, toolArguments: false }, { response_format: { type: "json_object" } },
 *       { content: '{"a":1}', toolCalls: [], finishReasons: ["stop"] })
 * // { passed: true, checks: { json: true, finishReason: true } }
 */
export function judge(gates: QualityGates, body: Readonly<Record<string, unknown>>, answer: GateAnswer): GateResult | null {
  const checks: GateResult["checks"] = {};
  if (gates.json && wantsJson(body) && answer.toolCalls.length === 0) {
    const content = parsed(answer.content);
    checks.json = content.ok;
    const schema = requestedSchema(body);
    if (schema !== undefined) {
      const match = content.ok ? matchesSchema(schema, content.value) : false;
      if (match !== null) checks.schema = match;
    }
  }
  if (gates.finishReason && answer.finishReasons.length > 0) checks.finishReason = !answer.finishReasons.includes("length");
  if (gates.toolArguments && answer.toolCalls.length > 0) {
    checks.toolArguments = answer.toolCalls.every((c) => {
      const args = parsed(c.arguments);
      return args.ok && isRecord(args.value);
    });
  }
  const results = Object.values(checks);
  return results.length === 0 ? null : { passed: results.every(Boolean), checks };
}

/** A whole chat or text completion's answer, or null when it is neither (embeddings, a Responses object). */
export function answerOfJson(answer: Readonly<Record<string, unknown>>): GateAnswer | null {
  if (!Array.isArray(answer.choices)) return null;
  const choices = answer.choices.filter(isRecord);
  const first = choices[0];
  if (!first) return null;
  const message = isRecord(first.message) ? first.message : null;
  const calls = message && Array.isArray(message.tool_calls) ? message.tool_calls.filter(isRecord) : [];
  return {
    content: typeof message?.content === "string" ? message.content : typeof first.text === "string" ? first.text : "",
    toolCalls: calls.map((c) => {
      const fn = isRecord(c.function) ? c.function : {};
      return { name: typeof fn.name === "string" ? fn.name : "", arguments: typeof fn.arguments === "string" ? fn.arguments : "" };
    }),
    finishReasons: choices.flatMap((c) => (typeof c.finish_reason === "string" ? [c.finish_reason] : [])),
  };
}

/**
 * Builds a streamed answer from its chunks as the relay sees them (chat `delta`s or completions'
 * `text`): the first choice's content and tool calls (arguments joined by index), every finish reason.
 */
export class StreamAnswer {
  private content = "";
  private readonly calls = new Map<number, { name: string; arguments: string }>();
  private readonly finishes = new Map<number, string>();

  /** Adds one parsed `data:` chunk. */
  add(chunk: Readonly<Record<string, unknown>>): void {
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      if (!isRecord(choice)) continue;
      const index = typeof choice.index === "number" ? choice.index : 0;
      if (typeof choice.finish_reason === "string") this.finishes.set(index, choice.finish_reason);
      if (index !== 0) continue;
      if (typeof choice.text === "string") this.content += choice.text;
      const delta = isRecord(choice.delta) ? choice.delta : null;
      if (!delta) continue;
      if (typeof delta.content === "string") this.content += delta.content;
      if (!Array.isArray(delta.tool_calls)) continue;
      for (const call of delta.tool_calls) {
        if (!isRecord(call)) continue;
        const at = typeof call.index === "number" ? call.index : 0;
        const fn = isRecord(call.function) ? call.function : {};
        const current = this.calls.get(at) ?? { name: "", arguments: "" };
        if (typeof fn.name === "string") current.name += fn.name;
        if (typeof fn.arguments === "string") current.arguments += fn.arguments;
        this.calls.set(at, current);
      }
    }
  }

  answer(): GateAnswer {
    return {
      content: this.content,
      toolCalls: [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c),
      finishReasons: [...this.finishes.entries()].sort(([a], [b]) => a - b).map(([, r]) => r),
    };
  }
}
