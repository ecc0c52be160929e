/**
 * Faults on demand. A request names the faults it wants in its JSON body under `sim`, keyed by
 * origin name or "*" (the origin's own entry wins). Real providers never receive this field: it
 * only means something to the simulator.
 */
import { z } from "zod";
import { pullStream, SimulatedCutError } from "./body-stream";
import { errorResponse } from "./errors";
import { untilAborted } from "./timing";

/** One origin's fault for one request. Unknown keys are rejected so a typo does not pass silently. */
export const FaultSchema = z.strictObject({
  /** Respond with this HTTP status and an OpenAI error body. */
  status: z.number().int().min(400).max(599).optional(),
  /** Seconds; sets `Retry-After` on the response (emitted verbatim). */
  retryAfter: z.number().nonnegative().optional(),
  /** Wait this long before sending response headers at all. */
  delayMs: z.number().nonnegative().optional(),
  /** Time to first token, replacing the computed one. */
  ttftMs: z.number().nonnegative().optional(),
  /** Decode speed for this request, replacing the origin's (0 = no delay between tokens). */
  decodeTokensPerSec: z.number().nonnegative().optional(),
  /** Stream: error the body after N token chunks. Non-stream: send half the body, then error. */
  cutAfterChunks: z.number().int().nonnegative().optional(),
  /** Stream: after N token chunks, send nothing more until the client goes away. */
  stallAfterChunks: z.number().int().nonnegative().optional(),
  /** Never report usage (no usage chunk when streaming; no `usage` field otherwise). */
  omitUsage: z.boolean().optional(),
  /**
   * Non-streamed Responses answers: usage without `input_tokens_details` (the cache not reported at
   * all, as by a server that does not count cached tokens; vLLM adds them only with
   * `--enable-prompt-tokens-details`).
   */
  omitCacheDetails: z.boolean().optional(),
  /** Answer 200 with a body that is neither valid JSON nor valid SSE data. */
  garbage: z.boolean().optional(),
  /** Stream: after N token chunks, send an SSE error event (`message` as its text) and end. */
  errorEventAfterChunks: z.number().int().nonnegative().optional(),
  /**
   * The text of a `status` fault's error body or of an `errorEventAfterChunks` event. `{authorization}`
   * becomes the `Authorization` header the origin received, as a careless origin quotes it back.
   */
  message: z.string().max(4096).optional(),
  /**
   * Non-stream: the answer, whole and valid, with one more field (`x_nested`) nested this many
   * levels deep, as a buggy or hostile origin might send it (a router that re-serializes it
   * overflows its stack).
   */
  nestedAnswer: z.number().int().min(1).max(100_000).optional(),
  /** Answer with this redirect status and `Location`, as a misconfigured or hostile origin might. */
  redirect: z.strictObject({ status: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]), location: z.string().min(1).max(2048) }).optional(),
});

/** A validated fault. */
export type Fault = z.infer<typeof FaultSchema>;

const FaultMapSchema = z.record(z.string(), FaultSchema);

/** The outcome of reading a body's `sim` field. */
export type FaultSelection = { ok: true; fault: Fault | undefined } | { ok: false; message: string };

/**
 * Picks the fault for `origin` from a request body's `sim` field (absent → no fault).
 * @example
 * selectFault({ sim: { "*": { status: 503 } } }, "alpha") // { ok: true, fault: { status: 503 } }
 */
export function selectFault(body: unknown, origin: string): FaultSelection {
  if (typeof body !== "object" || body === null || !("sim" in body) || body.sim === undefined) {
    return { ok: true, fault: undefined };
  }
  const parsed = FaultMapSchema.safeParse(body.sim);
  if (!parsed.success) return { ok: false, message: `Invalid 'sim' fault: ${z.prettifyError(parsed.error)}` };
  return { ok: true, fault: parsed.data[origin] ?? parsed.data["*"] };
}

/** A `redirect` fault's answer: the status and `Location`, no body. */
export function redirectResponse(redirect: NonNullable<Fault["redirect"]>): Response {
  return new Response(null, { status: redirect.status, headers: { location: redirect.location } });
}

/** A fault with `{authorization}` in its message replaced by what the origin received. */
export function withQuotedAuthorization(fault: Fault | undefined, authorization: string | null): Fault | undefined {
  if (fault?.message === undefined) return fault;
  return { ...fault, message: fault.message.replaceAll("{authorization}", authorization ?? "") };
}

/** The error response for a `status` fault, worded like the provider's own (or with the fault's own message). */
export function faultStatusResponse(status: number, message?: string): Response {
  if (message !== undefined) return errorResponse({ status, message });
  if (status === 429) {
    return errorResponse({ status, message: "Rate limit reached for requests (sim fault)." });
  }
  if (status >= 500) {
    return errorResponse({
      status,
      message: "The server had an error while processing your request. Sorry about that! (sim fault)",
    });
  }
  return errorResponse({ status, message: `Request failed with status ${status} (sim fault).` });
}

/**
 * A 200 whose body cannot be parsed: truncated JSON with a NUL byte for a plain request; for a
 * stream, one SSE event whose data is that same non-JSON, and no `[DONE]`.
 */
export function garbageResponse(stream: boolean): Response {
  const junk = '{"id":"chatcmpl-sim-garbage","object":\u0000 <<sim garbage>>';
  return stream
    ? new Response(`data: ${junk}\n\n`, { headers: { "content-type": "text/event-stream" } })
    : new Response(junk, { headers: { "content-type": "application/json" } });
}

/**
 * `response`'s JSON object with `x_nested` added, `levels` arrays deep; built as text, so nothing
 * here recurses over it. A streamed or non-JSON response is returned as it is.
 */
export async function withNestedField(response: Response, levels: number): Promise<Response> {
  if (!(response.headers.get("content-type") ?? "").includes("application/json") || !response.ok) return response;
  const text = (await response.text()).trimEnd();
  const nested = `${"[".repeat(levels)}${"]".repeat(levels)}`;
  return new Response(`${text.slice(0, -1)},"x_nested":${nested}}`, { status: response.status, headers: response.headers });
}

/**
 * A complete JSON response, or its broken variant when the fault asks: `cutAfterChunks` sends the
 * headers and the first half of the body, then errors the stream; `stallAfterChunks` sends the
 * headers and then nothing until the client goes away.
 *
 * `onEnd` runs once the simulator has nothing more to produce: at once for a complete body (it is
 * all in memory), when a broken body errors or is cancelled otherwise.
 */
export function jsonResponse(
  json: string,
  fault: Fault | undefined,
  lifetime: AbortController,
  onEnd: () => void = () => {},
): Response {
  const headers = { "content-type": "application/json" };
  if (fault?.cutAfterChunks !== undefined) {
    const bytes = new TextEncoder().encode(json);
    return new Response(pullStream(halfThenCut(bytes), () => lifetime.abort(), onEnd), { headers });
  }
  if (fault?.stallAfterChunks !== undefined) {
    return new Response(pullStream(stallForever(lifetime.signal), () => lifetime.abort(), onEnd), { headers });
  }
  onEnd();
  return new Response(json, { headers });
}

async function* halfThenCut(bytes: Uint8Array): AsyncGenerator<Uint8Array, void, void> {
  yield bytes.slice(0, Math.floor(bytes.byteLength / 2));
  throw new SimulatedCutError();
}

async function* stallForever(signal: AbortSignal): AsyncGenerator<Uint8Array, void, void> {
  await untilAborted(signal);
}
