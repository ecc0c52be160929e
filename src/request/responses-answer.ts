/**
 * The answer to a `POST /v1/responses` request: the origin's chat completion translated back into
 * a `response` (or, streamed, into the Responses events), and the response stored in the tenant's
 * ledger before the client is told it is over: a non-streamed answer is returned, a stream's
 * `response.completed` (`.incomplete`, `.failed`) is sent, only once the write has landed, so a
 * client that continues at once with `previous_response_id` always finds it.
 *
 * A write that fails is logged and the answer goes out all the same: the tenant has paid for it;
 * only its continuation will be refused (404). A response too large for a row is not stored.
 */
import { RouterError } from "../openai/errors";
import {
  chatCompletionChunkSchema,
  chatCompletionSchema,
  encodeEvent,
  fromChatCompletion,
  ResponsesStreamTranslator,
  storedResponse,
  type ResponseObject,
  type ResponseStreamEvent,
} from "../openai/responses";
import { addUsageCost } from "../openai/cost";
import { utf8ByteLength } from "../lib/bytes";
import { dataOf, type StreamOutcome } from "../proxy/sse-relay";
import { rewriteSse } from "../proxy/sse-transform";
import type { Admission } from "./admit";
import type { RequestContext } from "./context";
import type { ResponsesTurn } from "./responses-turn";

/** A stored row's body stays under the 2 MB a Durable Object's SQLite row may hold. */
const MAX_STORED_BYTES = 1_900_000;

/** Keeps a finished response (when its request asked to be stored); never rejects. */
export type KeepResponse = (response: ResponseObject) => Promise<void>;

/** How this request's response is kept: in its tenant's ledger, or not at all (`store: false`). */
export function keeper(ctx: RequestContext, admission: Admission, turn: ResponsesTurn): KeepResponse {
  if (!turn.store) return async () => {};
  return async (response) => {
    try {
      // Inside the try: an answer the origin nested past the stack's depth must not fail the response.
      const body = JSON.stringify(storedResponse(turn.request, response));
      if (utf8ByteLength(body) > MAX_STORED_BYTES) {
        console.warn(`request ${ctx.requestId}: response ${response.id} is too large to store`);
        return;
      }
      const row = { id: response.id, previousResponseId: turn.request.previous_response_id ?? null, createdAt: ctx.startedAt, body };
      if (!(await admission.caller.ledger.storeResponse(row))) console.error(`request ${ctx.requestId}: response ${response.id} not stored (no tenant)`);
    } catch (e) {
      console.error(`request ${ctx.requestId}: response ${response.id} not stored`, e);
    }
  };
}

/**
 * The JSON of the `response` for the chat completion the origin returned (parsed), its usage priced at
 * `costMicros`; stored before it is returned. An answer that is no chat completion is the origin's
 * failure (502).
 */
export async function responsesJson(turn: ResponsesTurn, chat: unknown, costMicros: number, completedAt: number, keep: KeepResponse): Promise<string> {
  const parsed = chatCompletionSchema.safeParse(chat);
  if (!parsed.success) throw new RouterError({ kind: "upstream_error" });
  addUsageCost(parsed.data, costMicros);
  const response = fromChatCompletion(parsed.data, turn.request, { ...turn.ids, completedAt });
  await keep(response);
  return JSON.stringify(response);
}

/** The stored `error.message` of a response whose client left before it was complete. */
export const CUT_MESSAGE = "The client closed the stream before the response was complete.";

/** How the relayed chat stream ends (`Forwarded`'s stream `outcome`), and where work that outlives the client goes. */
export interface RelayEnd {
  outcome: Promise<StreamOutcome>;
  waitUntil: (work: Promise<unknown>) => void;
}

/**
 * The Responses event stream for a relayed chat stream (`proxy/sse-relay.ts`: usage already
 * priced, error events scrubbed, keep-alive comments while the origin is silent, which pass
 * through). Cancelling it cancels the relay, and with it the origin call.
 *
 * A stream its client left (the body cancelled, or the relay ended quietly because the request's
 * signal aborted: `relay.outcome` says `cancelled`) is stored as `failed`, with what it had
 * generated and `CUT_MESSAGE`: never as `completed`. Not `incomplete`: OpenAI's
 * `incomplete_details.reason` names only `max_output_tokens` and `content_filter`, reasons of the
 * output; a client leaving is none, and is the same cut as a broken stream, which is `failed`.
 */
export function responsesStream(chat: ReadableStream<Uint8Array>, relay: RelayEnd, turn: ResponsesTurn, now: () => number, keep: KeepResponse): ReadableStream<Uint8Array> {
  const translator = new ResponsesStreamTranslator(turn.request, turn.ids);
  const encode = (events: ResponseStreamEvent[]) => events.map(encodeEvent).join("");

  /** Ends the response: its last events, once it is stored. */
  const end = async (events: ResponseStreamEvent[]): Promise<string> => {
    if (events.length > 0 && translator.response) await keep(translator.response);
    return encode(events);
  };

  /** The client left: the response as it stands is stored as failed (nobody reads its events). */
  const cut = (): Promise<void> => {
    if (translator.response) return Promise.resolve();
    translator.fail({ message: CUT_MESSAGE, code: "client_closed" });
    const kept = keep(translator.response!);
    relay.waitUntil(kept);
    return kept;
  };

  return rewriteSse(chat, {
    start: () => encode(translator.start()),
    /** The client's text for one event of the chat stream. */
    async event(event) {
      const data = dataOf(event);
      if (data === null) return event.trim() === "" ? "" : `${event}\n\n`;
      if (data === "[DONE]") return end(translator.finish(Math.floor(now() / 1000)));
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        return "";
      }
      if (typeof json === "object" && json !== null && "error" in json) {
        const error = (json as { error: { message?: unknown; code?: unknown } }).error;
        const message = typeof error?.message === "string" ? error.message : "The origin's stream failed.";
        return end(translator.fail({ message, code: typeof error?.code === "string" ? error.code : null }));
      }
      const chunk = chatCompletionChunkSchema.safeParse(json);
      return chunk.success ? encode(translator.push(chunk.data)) : "";
    },
    // The relay ends every stream with [DONE] or an error event, but for one its client left; one
    // that merely stopped after its finish chunk is over all the same.
    async end() {
      if (translator.response) return "";
      if ((await relay.outcome).end === "cancelled") {
        await cut();
        return "";
      }
      return end(translator.finish(Math.floor(now() / 1000)));
    },
    cancel: () => void cut(),
  });
}
