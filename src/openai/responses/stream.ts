/**
 * A streamed chat completion turned into the Responses API's stream, chunk by chunk: pure, no I/O.
 * The caller parses each SSE `data:` of the origin (`chatCompletionChunkSchema`), `push`es it and
 * writes out the events it returns (`encodeEvent`), then calls `finish` at `[DONE]` (or at the end of
 * a stream that sent its finish chunk), or `fail` when the origin's stream breaks.
 *
 * THE EVENTS, in order, each with the next `sequence_number` from 0
 * (https://platform.openai.com/docs/api-reference/responses-streaming):
 * - `response.created`, `response.in_progress` (status `in_progress`, empty output) — from `start`,
 *   or before the first events of `push`, `finish` or `fail`;
 * - text: on the first non-empty `content`, `response.output_item.added` (a `message`, no content)
 *   and `response.content_part.added` (an empty `output_text`); then one `response.output_text.delta`
 *   per chunk; a `refusal` likewise with a `refusal` part and `response.refusal.delta`;
 * - a tool call: on its first delta (a new `index`), the open message is closed (below), then
 *   `response.output_item.added` (a `function_call` with its `call_id`, `name` and empty
 *   `arguments`); then one `response.function_call_arguments.delta` per non-empty piece;
 * - closing a message: `response.output_text.done` (or `response.refusal.done`) and
 *   `response.content_part.done` per part, then `response.output_item.done`; closing a call:
 *   `response.function_call_arguments.done`, then `response.output_item.done`;
 * - `finish`: closes what is open (the message, then the calls in output order), then
 *   `response.completed` with usage, or `response.incomplete` when `finish_reason` was `length`
 *   (reason `max_output_tokens`) or `content_filter`;
 * - `fail`: an `error` event, then `response.failed` with the output so far (open items
 *   `incomplete`).
 * Only choice 0 is read (a response has one output). Tool calls stay open until `finish`, so a
 * server that interleaves the pieces of parallel calls is still read right.
 */
import type { ChatCompletionChunk, ChatLogprob, ChatUsage } from "./chat-completion";
import type { ResponsesRequest } from "./request";
import {
  fallbackCallId,
  itemId,
  outcomeOf,
  outputLogprob,
  responseObject,
  responseUsage,
  wantsLogprobs,
  type ItemStatus,
  type OutputItem,
  type OutputRefusal,
  type OutputText,
  type ResponseIds,
  type ResponseObject,
  type ResponseStatus,
} from "./response-object";
import type { DeltaLogprob, ResponseStreamEvent } from "./stream-events";

interface Part {
  kind: "text" | "refusal";
  text: string;
  logprobs: ChatLogprob[];
}

interface MessageState {
  kind: "message";
  outputIndex: number;
  id: string;
  parts: Part[];
  status: ItemStatus;
}

interface CallState {
  kind: "function_call";
  outputIndex: number;
  id: string;
  callId: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}

/** Why the origin's stream failed, as the client will read it. */
export interface StreamFailure {
  message: string;
  /** The `error` event's code (e.g. the router's `upstream_stream_broken`); null when none. */
  code?: string | null;
}

function deltaLogprob(entry: ChatLogprob): DeltaLogprob {
  return { token: entry.token, logprob: entry.logprob, top_logprobs: (entry.top_logprobs ?? []).map((t) => ({ token: t.token, logprob: t.logprob })) };
}

/**
 * Translates one streamed chat completion into Responses events (the order above).
 * @example
 * const t = new ResponsesStreamTranslator(request, { responseId: "resp_1", createdAt: 1700000000 });
 * for (const chunk of chunks) for (const e of t.push(chunk)) write(encodeEvent(e));
 * for (const e of t.finish(1700000002)) write(encodeEvent(e));
 */
export class ResponsesStreamTranslator {
  private sequence = 0;
  private started = false;
  private final: ResponseObject | null = null;
  private readonly items: Array<MessageState | CallState> = [];
  private message: MessageState | null = null;
  private readonly calls = new Map<number, CallState>();
  private finishReason: string | null = null;
  private usage: ChatUsage | null = null;
  private readonly logprobs: boolean;

  constructor(
    private readonly request: ResponsesRequest,
    private readonly ids: ResponseIds,
  ) {
    this.logprobs = wantsLogprobs(request);
  }

  /** The final response once `finish` or `fail` ran (what `store` keeps); null before. */
  get response(): ResponseObject | null {
    return this.final;
  }

  /** `response.created` and `response.in_progress`, once; nothing on later calls. */
  start(): ResponseStreamEvent[] {
    if (this.started) return [];
    this.started = true;
    const response = (): ResponseObject => responseObject(this.request, this.ids, { status: "in_progress", output: [] });
    return [
      { type: "response.created", sequence_number: this.next(), response: response() },
      { type: "response.in_progress", sequence_number: this.next(), response: response() },
    ];
  }

  /** The events one chat chunk makes; nothing once the response is over. */
  push(chunk: ChatCompletionChunk): ResponseStreamEvent[] {
    if (this.final) return [];
    const events = this.start();
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return events;
    const delta = choice.delta;
    if (delta?.content) events.push(...this.text("text", delta.content, choice.logprobs?.content ?? []));
    if (delta?.refusal) events.push(...this.text("refusal", delta.refusal, []));
    for (const call of delta?.tool_calls ?? []) {
      let state = this.calls.get(call.index);
      if (!state) {
        events.push(...this.closeMessage("completed"));
        const outputIndex = this.items.length;
        state = {
          kind: "function_call",
          outputIndex,
          id: itemId(this.ids.responseId, "fc", outputIndex),
          callId: call.id ?? fallbackCallId(this.ids.responseId, outputIndex),
          name: call.function?.name ?? "",
          arguments: "",
          status: "in_progress",
        };
        this.calls.set(call.index, state);
        this.items.push(state);
        events.push({ type: "response.output_item.added", sequence_number: this.next(), output_index: outputIndex, item: this.snapshot(state) });
      } else if (call.function?.name) {
        state.name += call.function.name;
      }
      const piece = call.function?.arguments;
      if (piece) {
        state.arguments += piece;
        events.push({ type: "response.function_call_arguments.delta", sequence_number: this.next(), item_id: state.id, output_index: state.outputIndex, delta: piece });
      }
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return events;
  }

  /** Closes what is open and ends with `response.completed` (or `response.incomplete`). */
  finish(completedAt: number): ResponseStreamEvent[] {
    if (this.final) return [];
    const events = this.start();
    const { status, incompleteReason } = outcomeOf(this.finishReason);
    const itemStatus: ItemStatus = status === "completed" ? "completed" : "incomplete";
    events.push(...this.closeMessage(itemStatus));
    for (const call of this.calls.values()) {
      if (call.status !== "in_progress") continue;
      call.status = itemStatus;
      events.push(
        { type: "response.function_call_arguments.done", sequence_number: this.next(), item_id: call.id, output_index: call.outputIndex, name: call.name, arguments: call.arguments },
        { type: "response.output_item.done", sequence_number: this.next(), output_index: call.outputIndex, item: this.snapshot(call) },
      );
    }
    this.final = this.build(status, { incompleteReason, completedAt: status === "completed" ? completedAt : undefined });
    events.push({ type: status === "completed" ? "response.completed" : "response.incomplete", sequence_number: this.next(), response: this.final });
    return events;
  }

  /** Ends a broken stream: an `error` event, then `response.failed` with the output so far. */
  fail(failure: StreamFailure): ResponseStreamEvent[] {
    if (this.final) return [];
    const events = this.start();
    for (const item of this.items) if (item.status === "in_progress") item.status = "incomplete";
    events.push({ type: "error", sequence_number: this.next(), code: failure.code ?? null, message: failure.message, param: null });
    this.final = this.build("failed", { errorMessage: failure.message });
    events.push({ type: "response.failed", sequence_number: this.next(), response: this.final });
    return events;
  }

  private next(): number {
    return this.sequence++;
  }

  private build(status: ResponseStatus, extra: { incompleteReason?: "max_output_tokens" | "content_filter" | undefined; completedAt?: number | undefined; errorMessage?: string }): ResponseObject {
    return responseObject(this.request, this.ids, {
      status,
      output: this.items.map((i) => this.snapshot(i)),
      usage: this.usage ? responseUsage(this.usage) : undefined,
      ...extra,
    });
  }

  /** Text or a refusal: opens the message and the part it goes to when needed, then the delta. */
  private text(kind: Part["kind"], delta: string, logprobs: ChatLogprob[]): ResponseStreamEvent[] {
    const events: ResponseStreamEvent[] = [];
    let message = this.message;
    if (!message) {
      const outputIndex = this.items.length;
      message = { kind: "message", outputIndex, id: itemId(this.ids.responseId, "msg", outputIndex), parts: [], status: "in_progress" };
      this.message = message;
      this.items.push(message);
      events.push({ type: "response.output_item.added", sequence_number: this.next(), output_index: outputIndex, item: this.snapshot(message) });
    }
    let part = message.parts.at(-1);
    if (part?.kind !== kind) {
      part = { kind, text: "", logprobs: [] };
      message.parts.push(part);
      events.push({
        type: "response.content_part.added",
        sequence_number: this.next(),
        item_id: message.id,
        output_index: message.outputIndex,
        content_index: message.parts.length - 1,
        part: this.partOf(part),
      });
    }
    part.text += delta;
    const where = { item_id: message.id, output_index: message.outputIndex, content_index: message.parts.length - 1 };
    if (kind === "refusal") {
      events.push({ type: "response.refusal.delta", sequence_number: this.next(), ...where, delta });
    } else {
      part.logprobs.push(...logprobs);
      events.push({ type: "response.output_text.delta", sequence_number: this.next(), ...where, delta, logprobs: this.logprobs ? logprobs.map(deltaLogprob) : [] });
    }
    return events;
  }

  private closeMessage(status: ItemStatus): ResponseStreamEvent[] {
    const message = this.message;
    if (!message) return [];
    this.message = null;
    const events: ResponseStreamEvent[] = [];
    message.parts.forEach((part, contentIndex) => {
      const where = { item_id: message.id, output_index: message.outputIndex, content_index: contentIndex };
      if (part.kind === "refusal") {
        events.push({ type: "response.refusal.done", sequence_number: this.next(), ...where, refusal: part.text });
      } else {
        events.push({ type: "response.output_text.done", sequence_number: this.next(), ...where, text: part.text, logprobs: this.logprobs ? part.logprobs.map(deltaLogprob) : [] });
      }
      events.push({ type: "response.content_part.done", sequence_number: this.next(), ...where, part: this.partOf(part) });
    });
    message.status = status;
    events.push({ type: "response.output_item.done", sequence_number: this.next(), output_index: message.outputIndex, item: this.snapshot(message) });
    return events;
  }

  /** A part as it stands (a fresh object: events already handed out never change). */
  private partOf(part: Part): OutputText | OutputRefusal {
    if (part.kind === "refusal") return { type: "refusal", refusal: part.text };
    return { type: "output_text", text: part.text, annotations: [], ...(this.logprobs ? { logprobs: part.logprobs.map(outputLogprob) } : {}) };
  }

  /** An item as it stands (a fresh object). */
  private snapshot(item: MessageState | CallState): OutputItem {
    if (item.kind === "message") {
      return { id: item.id, type: "message", status: item.status, role: "assistant", content: item.parts.map((p) => this.partOf(p)) };
    }
    return { id: item.id, type: "function_call", status: item.status, call_id: item.callId, name: item.name, arguments: item.arguments };
  }
}
