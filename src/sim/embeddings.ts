/**
 * `POST /<origin>/v1/embeddings`: deterministic unit-norm vectors, one per input, derived from a
 * hash of the input alone (the same text gives the same vector at every origin and model).
 */
import { z } from "zod";
import type { RequestContext } from "./context";
import { errorResponse } from "./errors";
import { jsonResponse } from "./faults";
import { fnv1a32, mulberry32 } from "./hash";
import { sleep } from "./timing";
import { countTokens, utf8 } from "./tokens";

const TokenArraySchema = z.array(z.number().int().nonnegative()).min(1);

/** The fields of an embeddings request the simulator reads; every other field is accepted and ignored. */
export const EmbeddingsRequestSchema = z.looseObject({
  model: z.string().min(1).optional(),
  input: z.union([z.string(), z.array(z.string()).min(1), TokenArraySchema, z.array(TokenArraySchema).min(1)]),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  // Bounded so a typo cannot make the simulator allocate gigabytes.
  dimensions: z.number().int().positive().max(65536).nullish(),
});

/** A validated embeddings request. */
export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequestSchema>;

/** One input, normalised: a string, or a pre-tokenised array. */
type EmbeddingInput = string | number[];

function isTokenArray(input: string[] | number[] | number[][]): input is number[] {
  return typeof input[0] === "number";
}

function inputsOf(input: EmbeddingsRequest["input"]): EmbeddingInput[] {
  if (typeof input === "string") return [input];
  if (isTokenArray(input)) return [input];
  return input;
}

/** Tokens of one input: the string rule of `tokens.ts`, or the array's length when pre-tokenised. */
function inputTokens(input: EmbeddingInput): number {
  return typeof input === "string" ? countTokens(input) : input.length;
}

/**
 * The vector of one input: `dims` PRNG draws in [-1, 1) seeded by FNV-1a of the input, scaled to
 * unit length, held as float32 so the float and base64 encodings carry bit-identical values.
 * @example
 * embeddingVector("hello", 16).length // 16
 */
export function embeddingVector(input: EmbeddingInput, dims: number): Float32Array {
  const key = typeof input === "string" ? `text:${input}` : `tokens:${input.join(",")}`;
  const next = mulberry32(fnv1a32(utf8(key)));
  const raw = new Float64Array(dims);
  let sumSquares = 0;
  for (let i = 0; i < dims; i++) {
    const v = next() * 2 - 1;
    raw[i] = v;
    sumSquares += v * v;
  }
  const norm = Math.sqrt(sumSquares) || 1;
  return Float32Array.from(raw, (v) => v / norm);
}

/**
 * The base64 of a vector's little-endian float32 bytes: what the openai SDK asks for by default and
 * decodes with `Float32Array` (little-endian on every platform it runs on).
 */
export function encodeBase64Float32(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  vector.forEach((v, i) => view.setFloat32(i * 4, v, true));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Serves one embeddings request whose JSON body has already been parsed. Latency is the origin's
 * TTFT for the whole input (no prefix cache, no decode).
 */
export async function handleEmbeddings(body: unknown, ctx: RequestContext): Promise<Response> {
  const parsed = EmbeddingsRequestSchema.safeParse(body);
  if (!parsed.success) {
    return errorResponse({
      status: 400,
      message: `Invalid embeddings request: ${z.prettifyError(parsed.error)}`,
      param: "input",
    });
  }
  const req = parsed.data;
  const { config } = ctx.origin;
  const model = req.model ?? config.models[0] ?? "sim-model";
  const dims = req.dimensions ?? config.embeddingDims;
  const inputs = inputsOf(req.input);
  const promptTokens = inputs.reduce((sum, input) => sum + inputTokens(input), 0);

  await sleep(ctx.fault?.ttftMs ?? config.ttftBaseMs + promptTokens * config.prefillMsPerToken, ctx.lifetime.signal);
  const data = inputs.map((input, index) => {
    const vector = embeddingVector(input, dims);
    return {
      object: "embedding",
      index,
      embedding: req.encoding_format === "base64" ? encodeBase64Float32(vector) : Array.from(vector),
    };
  });
  const response = {
    object: "list",
    data,
    model,
    ...(ctx.fault?.omitUsage ? {} : { usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }),
  };
  return jsonResponse(JSON.stringify(response), ctx.fault, ctx.lifetime);
}
