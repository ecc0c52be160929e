/**
 * Relaying an origin's SSE stream to the client event by event, while learning its usage.
 *
 * The router asks origins for `stream_options.include_usage` (or their provider reports it anyway),
 * so the final chunk carries `usage` with `choices: []`
 * (https://platform.openai.com/docs/api-reference/chat-streaming). A client that did not ask for it
 * must not see that chunk: it is dropped, and `usage` is removed from content chunks that carry it
 * (vLLM can attach it to the last one). A client that asked gets the router's `usage.cost` in it.
 *
 * When the origin's stream breaks or stalls past the total timeout after bytes reached the
 * client, there is no status left to change: the relay ends with an SSE `error` event, which the
 * OpenAI SDKs raise as an `APIError`, and never with a silent truncation.
 */
import type { ProviderProfile } from "../config/providers";
import { addUsageCost } from "../openai/cost";
import { describeFailure } from "../openai/errors";
import { readUsage, type Usage } from "../openai/usage";
import type { GateAnswer, StreamAnswer } from "../outcomes/gates";
import { scrubJson, type Scrub } from "./scrub";

/** How a relayed stream ended, for settlement and logs. */
export interface StreamOutcome {
  usage: Usage | null;
  /**
   * Data events that carried generated text (content or tool-call arguments). OpenAI-compatible
   * servers send about one token per such chunk, so this is the completion-token estimate when
   * the origin never reported usage.
   */
  contentEvents: number;
  /** `completed`: [DONE] or a finish_reason arrived; otherwise how it ended. */
  end: "completed" | "broken" | "timeout" | "cancelled";
  /** What the stream carried, when it was asked to collect it (`RelayOptions.answer`: quality gates). */
  answer?: GateAnswer;
}

export interface RelayOptions {
  /** The first chunk, already read while fallback was still possible. */
  first: Uint8Array;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Whether the client itself asked for `stream_options.include_usage`. */
  clientWantsUsage: boolean;
  profile: ProviderProfile;
  /** Applied to the text of error events the origin sends mid-stream (see scrub.ts). */
  scrub: Scrub;
  /** True when the upstream read failed because the total timeout fired. */
  timedOut: () => boolean;
  /** True when the upstream read failed because the client went away (its request signal). */
  cancelled: () => boolean;
  /** While the origin sends nothing for this long, the client gets a `: keep-alive` comment (see `limits.streamHeartbeatMs`). */
  heartbeatMs: number;
  /** What a usage costs the tenant (µ$), for the `usage.cost` of a client that asked for usage. */
  costOf?: (usage: Usage) => number;
  /** Called exactly once, when the stream has ended one way or another. */
  onEnd: (outcome: StreamOutcome) => void;
  /**
   * Collects the answer as it passes (quality gates, issue #19): every event with choices is then
   * parsed, which a relay otherwise avoids. Given only for scenarios whose gates are on.
   */
  answer?: StreamAnswer;
}

const encoder = new TextEncoder();

/** An SSE comment (WHATWG HTML §9.2.6: a line starting with ':' is ignored by every client). */
const HEARTBEAT = encoder.encode(": keep-alive\n\n");
const HEARTBEAT_DUE = Symbol("heartbeat");

/** The SSE event that ends a stream the origin broke, or let stall past its total timeout. */
function errorEvent(kind: "broken" | "timeout"): string {
  const { body } = describeFailure({ kind: kind === "timeout" ? "upstream_stream_timeout" : "upstream_stream_broken" });
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** The `data:` payload of one SSE event (joined lines), or null when it has none. */
export function dataOf(event: string): string | null {
  let data: string | null = null;
  for (const line of event.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}

/** An event whose data is an error object: `{"error": …}`. */
const ERROR_EVENT = /^\s*\{\s*"error"\s*:/;

/** An error event's data with its strings scrubbed: null when nothing changed (pass its bytes). */
function scrubbedEvent(data: string, scrub: Scrub): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    const scrubbed = scrub(data);
    return scrubbed === data ? null : `data: ${scrubbed}\n\n`;
  }
  const out = JSON.stringify(scrubJson(parsed, scrub));
  return out === JSON.stringify(parsed) ? null : `data: ${out}\n\n`;
}

const TEXT_FIELDS = ['"content":"', '"content": "', '"arguments":"', '"arguments": "', '"text":"', '"text": "'];

/** Whether an event's data carries generated text: a non-empty `content`, tool-call `arguments` or (legacy completions) `text`. */
export function carriesText(data: string): boolean {
  for (const field of TEXT_FIELDS) {
    for (let at = data.indexOf(field); at >= 0; at = data.indexOf(field, at + field.length)) {
      if (data.charCodeAt(at + field.length) !== 34 /* '"': an empty string */) return true;
    }
  }
  return false;
}

/** A readable stream for the client that relays `options.reader` event by event. */
export function relaySse(options: RelayOptions): ReadableStream<Uint8Array> {
  const { reader, clientWantsUsage, profile } = options;
  /** The origin read in progress, kept across pulls while heartbeats go out. */
  let inflight: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  let heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  /** The next origin chunk, or HEARTBEAT_DUE when the origin has been silent for `heartbeatMs`. */
  const nextRead = (): Promise<ReadableStreamReadResult<Uint8Array> | typeof HEARTBEAT_DUE> => {
    inflight ??= reader.read();
    const due = new Promise<typeof HEARTBEAT_DUE>((resolve) => (heartbeatTimer = setTimeout(() => resolve(HEARTBEAT_DUE), options.heartbeatMs)));
    return Promise.race([inflight, due]).finally(() => clearTimeout(heartbeatTimer));
  };
  const decoder = new TextDecoder();
  let buffer = "";
  let pending: Uint8Array | null = options.first;
  let ended = false;
  let sawDone = false;
  let sawFinish = false;
  const outcome: Omit<StreamOutcome, "end"> = { usage: null, contentEvents: 0 };

  const finish = (end: StreamOutcome["end"]) => {
    if (ended) return;
    ended = true;
    options.onEnd({ ...outcome, end, ...(options.answer ? { answer: options.answer.answer() } : {}) });
  };

  /** Rewrites one complete event: null to pass it as it is, "" to drop it, else its new text. */
  const rewrite = (event: string): string | null => {
    const data = dataOf(event);
    if (data === null) return null;
    if (data === "[DONE]") {
      sawDone = true;
      return null;
    }
    // An origin's error event is passed on, but never with a secret it may quote.
    if (ERROR_EVENT.test(data)) return scrubbedEvent(data, options.scrub);
    // Parse only events that can matter: usage, the finish. Plain text search first keeps the
    // per-chunk cost low on long streams.
    if (carriesText(data)) outcome.contentEvents++;
    const hasUsage = data.includes('"usage":{') || data.includes('"usage": {');
    const hasFinish = data.includes('"finish_reason":"') || data.includes('"finish_reason": "');
    const collecting = options.answer !== undefined && data.includes('"choices"');
    if (!hasUsage && !hasFinish && !collecting) return null;
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return null;
    }
    if (collecting) options.answer!.add(chunk);
    const choices = Array.isArray(chunk.choices) ? (chunk.choices as Array<Record<string, unknown>>) : [];
    if (hasFinish) sawFinish = true;
    if (!hasUsage) return null;
    const usage = readUsage(chunk.usage, profile);
    if (usage) outcome.usage = usage;
    if (clientWantsUsage) {
      if (!usage || !options.costOf) return null;
      addUsageCost(chunk, options.costOf(usage));
      return `data: ${JSON.stringify(chunk)}\n\n`;
    }
    if (choices.length === 0) return "";
    delete chunk.usage;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };

  /**
   * Takes the complete events out of the buffer; returns their text for the client and whether any
   * was changed (when none was, the origin's own bytes can be passed on).
   */
  const drain = (): { text: string; changed: boolean } => {
    if (buffer.includes("\r")) buffer = buffer.replace(/\r\n?/g, "\n");
    let text = "";
    let changed = false;
    let boundary: number;
    while ((boundary = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, boundary);
      const rewritten = rewrite(event);
      if (rewritten === null) text += `${event}\n\n`;
      else {
        text += rewritten;
        changed = true;
      }
      buffer = buffer.slice(boundary + 2);
    }
    return { text, changed };
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          let chunk: Uint8Array;
          if (pending) {
            chunk = pending;
            pending = null;
          } else {
            let result: ReadableStreamReadResult<Uint8Array> | typeof HEARTBEAT_DUE;
            try {
              result = await nextRead();
              if (result === HEARTBEAT_DUE) {
                controller.enqueue(HEARTBEAT);
                return;
              }
              inflight = null;
            } catch {
              if (options.cancelled()) {
                // Nobody is reading: end quietly, settled for what was delivered.
                controller.close();
                finish("cancelled");
                return;
              }
              const kind = options.timedOut() ? "timeout" : "broken";
              controller.enqueue(encoder.encode(errorEvent(kind)));
              controller.close();
              finish(kind);
              return;
            }
            if (result.done) {
              buffer += decoder.decode();
              let tail = drain().text;
              if (buffer.trim() !== "") tail += rewrite(buffer) ?? buffer;
              buffer = "";
              const complete = sawDone || sawFinish;
              if (!complete) tail += errorEvent("broken");
              if (tail) controller.enqueue(encoder.encode(tail));
              controller.close();
              finish(complete ? "completed" : "broken");
              return;
            }
            chunk = result.value;
          }
          const wasEmpty = buffer === "";
          const text = decoder.decode(chunk, { stream: true });
          buffer += text;
          const out = drain();
          // The common case: the chunk held whole events and none needed a change; pass its bytes.
          if (wasEmpty && buffer === "" && !out.changed && !text.includes("\r")) {
            controller.enqueue(chunk);
            return;
          }
          if (out.text) {
            controller.enqueue(encoder.encode(out.text));
            return;
          }
        }
      },
      async cancel(reason) {
        clearTimeout(heartbeatTimer);
        finish("cancelled");
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
