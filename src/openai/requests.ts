/**
 * The request bodies the router validates before spending a round trip or an origin call.
 *
 * Only what the router itself relies on is checked; every other field (tools, response_format,
 * provider extensions, ...) passes through to the origin untouched (`z.looseObject`).
 */
import { z } from "zod";
import { formatPath } from "../lib/zod-path";
import { RouterError } from "./errors";

const contentPart = z.looseObject({ type: z.string().min(1) });

const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});

const positiveInt = z.number().int().min(1);

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
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

const tokenArray = z.array(z.number().int().min(0));

export const embeddingsRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1, "'input' must not be empty"),
    tokenArray.min(1, "'input' must not be empty"),
    z.array(tokenArray).min(1, "'input' must not be empty"),
  ]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: positiveInt.optional(),
});
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/**
 * A validated request the router forwards, typed by its endpoint. Unknown fields are kept as they
 * came (the schemas are loose); only the upstream serialisation treats the body as a plain record.
 */
export type ProxyRequest = { endpoint: "chat"; body: ChatRequest } | { endpoint: "embeddings"; body: EmbeddingsRequest };

/** Validates a parsed body for its endpoint, or throws the 400 that names the offending `param`. */
export function parseProxyRequest(endpoint: ProxyRequest["endpoint"], value: unknown): ProxyRequest {
  return endpoint === "chat" ? { endpoint, body: validate(chatRequestSchema, value) } : { endpoint, body: validate(embeddingsRequestSchema, value) };
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
