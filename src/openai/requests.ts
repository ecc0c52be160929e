/**
 * The request bodies the router validates before spending a round trip or an origin call.
 *
 * Only what the router itself relies on is checked; every other field (tools, response_format,
 * provider extensions, ...) passes through to the origin untouched (`z.looseObject`).
 */
import { z } from "zod";
import { formatPath } from "../lib/zod-path";
import { metadataSchema, userSchema } from "./attribution";
import { chatFastPath } from "./chat-fast-path";
import { RouterError } from "./errors";


const contentPart = z.looseObject({ type: z.string().min(1) });

const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});

const positiveInt = z.number().int().min(1);

/** The fields every endpoint may carry for the usage log's attribution. */
const attributionShape = { user: userSchema.nullish(), metadata: metadataSchema.nullish() };

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1, "'messages' must contain at least one message"),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  ...attributionShape,
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

const tokenArray = z.array(z.number().int().min(0));

/** Text or tokens, as embeddings' `input` and legacy completions' `prompt` take them: a string, strings, a token array or token arrays. */
function textsOrTokens(field: string) {
  const empty = `'${field}' must not be empty`;
  return z.union([z.string(), z.array(z.string()).min(1, empty), tokenArray.min(1, empty), z.array(tokenArray).min(1, empty)]);
}

export const embeddingsRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  input: textsOrTokens("input"),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: positiveInt.optional(),
  ...attributionShape,
});
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/**
 * The legacy `POST /v1/completions` (https://platform.openai.com/docs/api-reference/completions/create):
 * a prompt as a string, strings, a token array or token arrays; `max_tokens` is its only output cap;
 * `best_of` completions are generated server-side (and billed) per prompt, `n` returned.
 */
export const completionsRequestSchema = z
  .looseObject({
    model: z.string().min(1).max(256),
    prompt: textsOrTokens("prompt"),
    suffix: z.string().nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
    max_tokens: positiveInt.nullish(),
    n: z.number().int().min(1).max(128).nullish(),
    best_of: z.number().int().min(1).max(20).nullish(),
    echo: z.boolean().nullish(),
    logprobs: z.number().int().min(0).max(5).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    ...attributionShape,
  })
  .refine((r) => r.best_of == null || r.best_of >= (r.n ?? 1), { message: "must be at least 'n'", path: ["best_of"] });
export type CompletionsRequest = z.infer<typeof completionsRequestSchema>;

/**
 * A validated request the router forwards, typed by the endpoint it goes to upstream. Unknown
 * fields are kept as they came (the schemas are loose); only the upstream serialisation treats the
 * body as a plain record. A Responses API request travels as the chat request it translates to.
 */
export type ProxyRequest =
  | { endpoint: "chat"; body: ChatRequest }
  | { endpoint: "embeddings"; body: EmbeddingsRequest }
  | { endpoint: "completions"; body: CompletionsRequest };

/** The endpoints a client calls: the upstream ones, and the Responses API (served as chat). */
export type ApiEndpoint = ProxyRequest["endpoint"] | "responses";

/**
 * Validates a parsed body for its endpoint, or throws the 400 that names the offending `param`. A
 * chat body of the common shape skips zod (`chat-fast-path.ts`: the same result, without zod's
 * generic walk).
 */
export function parseProxyRequest(endpoint: ProxyRequest["endpoint"], value: unknown): ProxyRequest {
  switch (endpoint) {
    case "chat":
      return { endpoint, body: chatFastPath(value) ?? validate(chatRequestSchema, value) };
    case "embeddings":
      return { endpoint, body: validate(embeddingsRequestSchema, value) };
    case "completions":
      return { endpoint, body: validate(completionsRequestSchema, value) };
  }
}

/**
 * Validates a parsed body, or throws the 400 that names the offending `param`.
 *
 * @example
 * validate(chatRequestSchema, { model: "m", messages: [] }); // throws: param "messages"
 */
export function validate<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // A missing top-level field has an empty path when the body is not an object at all.
  const param = issue.path.length > 0 ? formatPath(issue.path) : null;
  const message = param ? `Invalid value for '${param}': ${issue.message}` : `Invalid request body: ${issue.message}`;
  throw new RouterError({ kind: "invalid_body", message, param });
}
