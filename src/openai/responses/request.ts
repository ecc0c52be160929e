/**
 * `POST /v1/responses` requests the router can serve by translating them to chat completions
 * (https://platform.openai.com/docs/api-reference/responses/create).
 *
 * Every field of the Responses API is named here, so none leaks into the chat request by accident;
 * fields this file does not know pass through to the chat body untouched (vendor extensions, the
 * simulator's `sim`). What cannot be translated is refused with a message naming the field:
 * - tools other than `function` (`web_search`, `file_search`, `computer_use_preview`, `mcp`, ...)
 *   run on OpenAI's side and have no chat equivalent; so do `tool_choice` values naming them;
 * - `background: true` needs a job queue; `conversation` and `prompt` name objects stored at
 *   OpenAI; `truncation: "auto"` would need the router to cut the context; `context_management`
 *   asks for compaction; `n` is not a Responses parameter (a response has one output).
 */
import { z } from "zod";
import { formatPath } from "../../lib/zod-path";
import { metadataSchema, userSchema } from "../attribution";
import { inputItemSchema, typeNamed } from "./items";

/** A field that may only be absent, null (or `allowed`): anything else is refused with `reason`. */
function refused(reason: string, allowed: readonly unknown[] = []) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (value == null || allowed.includes(value)) return;
      ctx.addIssue({ code: "custom", message: reason });
    })
    .optional();
}

/** A function tool in the Responses shape (flat: `name` and `parameters` beside `type`). */
export const functionToolSchema = z.looseObject({
  type: z.literal("function"),
  name: z.string().min(1).max(64),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
/** A function tool. */
export type FunctionTool = z.infer<typeof functionToolSchema>;

const toolSchema = z.discriminatedUnion("type", [functionToolSchema], {
  error: (iss) =>
    iss.code === "invalid_union"
      ? `${typeNamed(iss.input)} tools are not supported by this router; only 'function' tools are (built-in tools run on OpenAI's side).`
      : undefined,
});

/** `tool_choice`: an option, or one function by name. */
export const toolChoiceSchema = z.union(
  [
    z.enum(["none", "auto", "required"]),
    z.discriminatedUnion("type", [z.looseObject({ type: z.literal("function"), name: z.string().min(1) })], {
      error: (iss) =>
        iss.code === "invalid_union" ? `${typeNamed(iss.input)} tool choices are not supported by this router; only 'none', 'auto', 'required' or a function.` : undefined,
    }),
  ],
  { error: (iss) => (iss.code === "invalid_union" ? `must be 'none', 'auto', 'required' or {"type": "function", "name": ...}.` : undefined) },
);
/** A tool choice. */
export type ToolChoice = z.infer<typeof toolChoiceSchema>;

/** `text.format`: plain text, JSON mode, or Structured Outputs with a JSON schema. */
export const textFormatSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    // OpenAI: a-z, A-Z, 0-9, underscores and dashes, at most 64.
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1 to 64 letters, digits, underscores or dashes"),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);
/** A text format. */
export type TextFormat = z.infer<typeof textFormatSchema>;

/** The request body of `POST /v1/responses`, as far as the router serves it. */
export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(inputItemSchema)], {
    error: (iss) => (iss.code === "invalid_union" ? "must be a string or an array of input items." : undefined),
  }),
  instructions: z.string().nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: textFormatSchema.nullish(), verbosity: z.enum(["low", "medium", "high"]).nullish() }).nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  include: z.array(z.string()).nullish(),
  reasoning: z.looseObject({ effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh"]).nullish() }).nullish(),
  metadata: metadataSchema.nullish(),
  user: userSchema.nullish(),
  safety_identifier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.enum(["in-memory", "24h"]).nullish(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
  max_tool_calls: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_obfuscation: z.boolean().nullish() }).nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  truncation: refused("'auto' truncation is not supported by this router; only 'disabled'.", ["disabled"]),
  background: refused("background responses are not supported by this router.", [false]),
  conversation: refused("conversations are not supported by this router; chain responses with 'previous_response_id'."),
  prompt: refused("prompt templates are not supported by this router; send 'instructions' and 'input'."),
  context_management: refused("context management is not supported by this router."),
  n: refused("'n' is not a Responses API parameter: a response has one output.", [1]),
});

/** A validated `POST /v1/responses` body; unknown fields are kept. */
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

/** The Responses API's own fields: consumed by the translation, never passed through. */
export const RESPONSES_FIELDS: ReadonlySet<string> = new Set(Object.keys(responsesRequestSchema.shape));

/**
 * The issue to report: inside a union (`input` is a string or items), the one from the branch that
 * got furthest into the value, so a bad item is named (`input[2].type`) rather than all of `input`.
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union") return issue;
  let best: z.core.$ZodIssue | undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first && first.path.length > 0 && (!best || first.path.length > best.path.length)) best = first;
  }
  return best ? innermost({ ...best, path: [...issue.path, ...best.path] }) : issue;
}

/** A refusal, ready for `RouterError` (rendered as a 400 `invalid_value` naming `param`): its `invalid_body` failure. */
export interface InvalidResponsesRequest {
  kind: "invalid_body";
  message: string;
  param: string | null;
}

/** The outcome of validating a body. */
export type ResponsesRequestParse = { ok: true; request: ResponsesRequest } | { ok: false; failure: InvalidResponsesRequest };

/**
 * Validates a parsed JSON body as a Responses request the router can translate.
 * @example
 * parseResponsesRequest({ model: "m", input: "hi", tools: [{ type: "web_search" }] })
 * // { ok: false, failure: { kind: "invalid_body", param: "tools[0].type",
 * //   message: "Invalid value for 'tools[0].type': 'web_search' tools are not supported by this router; ..." } }
 */
export function parseResponsesRequest(body: unknown): ResponsesRequestParse {
  const result = responsesRequestSchema.safeParse(body);
  if (result.success) return { ok: true, request: result.data };
  const issue = innermost(result.error.issues[0]!);
  const param = issue.path.length > 0 ? formatPath(issue.path) : null;
  const message = param ? `Invalid value for '${param}': ${issue.message}` : `Invalid request body: ${issue.message}`;
  return { ok: false, failure: { kind: "invalid_body", message, param } };
}
