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
import { concatBytes } from "../lib/bytes";
import { tooDeepAt } from "../lib/json-depth";
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

/** The SSE event that ends a stream the origin broke, or let stall past its total timeout. */
function errorEvent(kind: "broken" | "timeout"): string {
  const { body } = describeFailure({ kind: kind === "timeout" ? "upstream_stream_timeout" : "upstream_stream_broken" });
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** The `data:` payload of one SSE event (joined lines), or null when it has none. */
export function dataOf(event: string): string | null {
  // The usual event: a single `data:` line.
  if (!event.includes("\n")) {
    if (!event.startsWith("data:")) return null;
    return event.charCodeAt(5) === 32 ? event.slice(6) : event.slice(5);
  }
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
    parsed = undefined;
  }
  // Not JSON, or nested past what may be walked and serialized again (lib/json-depth.ts): scrubbed as text.
  if (parsed === undefined || tooDeepAt(parsed) !== undefined) {
    const scrubbed = scrub(data);
    return scrubbed === data ? null : `data: ${scrubbed}\n\n`;
  }
  const out = JSON.stringify(scrubJson(parsed, scrub));
  return out === JSON.stringify(parsed) ? null : `data: ${out}\n\n`;
}

/** Keys whose non-empty string value is generated text. */
const TEXT_KEYS = ['"content":', '"arguments":', '"text":'];

/**
 * Whether an event's data carries generated text: a non-empty `content`, tool-call `arguments` or
 * (legacy completions) `text`, written `"key":"…"` or `"key": "…"`.
 */
export function carriesText(data: string): boolean {
  for (const key of TEXT_KEYS) {
    for (let at = data.indexOf(key); at >= 0; at = data.indexOf(key, at + key.length)) {
      let i = at + key.length;
      if (data.charCodeAt(i) === 32 /* ' ' */) i++;
      if (data.charCodeAt(i) === 34 /* '"' */ && data.charCodeAt(i + 1) !== 34 /* not an empty string */) return true;
    }
  }
  return false;
}

/** Whether `data` has `key` followed by the character `next`, or by one space and `next` (`"usage":{`, `"usage": {`). */
function keyThen(data: string, key: string, next: number): boolean {
  for (let at = data.indexOf(key); at >= 0; at = data.indexOf(key, at + key.length)) {
    const i = at + key.length;
    const c = data.charCodeAt(i);
    if (c === next || (c === 32 && data.charCodeAt(i + 1) === next)) return true;
  }
  return false;
}

/** `TextDecoder.decode`'s options for a chunk that may end inside a character. */
const IN_STREAM = { stream: true };

/**
 * Bytes queued for the client past which the relay stops reading the origin until the client has
 * taken them (backpressure: a slow client slows the origin's stream rather than filling memory).
 */
const MAX_QUEUED_BYTES = 64 * 1024;

/** The client's side of a relay: see `relaySse`. */
interface ClientSink {
  /** The client went away (a write failed, or its side was cancelled). */
  readonly gone: boolean;
  /** Queues bytes for the client; they go out in order, each call's bytes whole. */
  send(bytes: Uint8Array): void;
  /** Resolves when the client has taken enough of what is queued to read on; null when nothing needs waiting for. */
  backlog(): Promise<void> | null;
  /** Closes the client's stream once what is queued has gone out. */
  close(): void;
  /** Errors the client's stream now. */
  abort(reason: unknown): void;
}

/**
 * Writes to `writer` with at most one write in flight; bytes sent meanwhile are joined into the
 * next write. `onGone` is called once, when a write fails or the stream is cancelled.
 */
function clientSink(writer: WritableStreamDefaultWriter<Uint8Array>, onGone: () => void): ClientSink {
  let queue: Uint8Array[] = [];
  let queuedBytes = 0;
  let writing: Promise<void> | null = null;
  let gone = false;
  const lost = () => {
    if (gone) return;
    gone = true;
    queue = [];
    onGone();
  };
  const flush = async (): Promise<void> => {
    while (queue.length > 0 && !gone) {
      const bytes = concatBytes(queue);
      queue = [];
      queuedBytes = 0;
      try {
        await writer.write(bytes);
      } catch {
        lost();
      }
    }
    writing = null;
  };
  void writer.closed.catch(lost);
  return {
    get gone() {
      return gone;
    },
    send(bytes) {
      if (gone) return;
      queue.push(bytes);
      queuedBytes += bytes.byteLength;
      writing ??= flush();
    },
    backlog: () => (queuedBytes >= MAX_QUEUED_BYTES ? writing : null),
    close() {
      void (writing ?? Promise.resolve()).then(() => (gone ? undefined : writer.close())).catch(() => {});
    },
    abort(reason) {
      gone = true;
      void writer.abort(reason).catch(() => {});
    },
  };
}

/**
 * A readable stream for the client that relays `options.reader` event by event.
 *
 * Each crossing between JavaScript and the runtime costs far more CPU than the few string searches
 * an event needs, so the relay keeps them few. It writes to a native stream (an
 * `IdentityTransformStream`: the runtime sends it on without calling back into JavaScript) with at
 * most one write in flight, and events that arrive meanwhile go out joined in the next write. An
 * origin chunk then costs one read, a burst of chunks one write, and none a timer: one per stream
 * sends the heartbeats.
 */
export function relaySse(options: RelayOptions): ReadableStream<Uint8Array> {
  const { reader, clientWantsUsage, profile, heartbeatMs } = options;
  const decoder = new TextDecoder();
  let buffer = "";
  let pending: Uint8Array | null = options.first;
  let ended = false;
  let sawDone = false;
  let sawFinish = false;
  /** Whether the text added to the buffer since the last drain held a CR (to normalize). */
  let sawCr = false;
  const outcome: Omit<StreamOutcome, "end"> = { usage: null, contentEvents: 0 };
  let heartbeatTimer: ReturnType<typeof setTimeout> | undefined;

  const finish = (end: StreamOutcome["end"]) => {
    if (ended) return;
    ended = true;
    clearTimeout(heartbeatTimer);
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
    const hasUsage = keyThen(data, '"usage":', 123 /* '{' */);
    const hasFinish = keyThen(data, '"finish_reason":', 34 /* '"' */);
    const collecting = options.answer !== undefined && data.includes('"choices"');
    if (!hasUsage && !hasFinish && !collecting) return null;
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return null;
    }
    // Nested past what may be serialized again (lib/json-depth.ts): what it says is read, and the
    // event itself dropped, as no origin's answer ever is.
    const deep = tooDeepAt(chunk) !== undefined;
    if (collecting && !deep) options.answer!.add(chunk);
    const choices = Array.isArray(chunk.choices) ? (chunk.choices as Array<Record<string, unknown>>) : [];
    if (hasFinish) sawFinish = true;
    if (!hasUsage) return deep ? "" : null;
    const usage = readUsage(chunk.usage, profile);
    if (usage) outcome.usage = usage;
    if (deep) return "";
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
   * Takes the complete events out of the buffer and returns their text for the client. With
   * `passable`, returns null instead when the buffer held only whole events and none changed: the
   * caller passes the origin's bytes, and the text is never built.
   */
  const drain = (passable: boolean): string | null => {
    if (sawCr) buffer = buffer.replace(/\r\n?/g, "\n");
    let changed = false;
    let text = "";
    /** Where the events passed as they are, not yet added to `text`, begin; where the next event begins. */
    let kept = 0;
    let at = 0;
    let boundary: number;
    while ((boundary = buffer.indexOf("\n\n", at)) >= 0) {
      const rewritten = rewrite(buffer.slice(at, boundary));
      if (rewritten !== null) {
        text += buffer.slice(kept, at) + rewritten;
        kept = boundary + 2;
        changed = true;
      }
      at = boundary + 2;
    }
    const whole = at === buffer.length;
    const out = passable && whole && !changed ? null : text + buffer.slice(kept, at);
    buffer = whole ? "" : buffer.slice(at);
    return out;
  };

  const { readable, writable } = new IdentityTransformStream();
  // A client that went away is settled for what was delivered, and the origin's stream cancelled.
  const client = clientSink(writable.getWriter(), () => {
    finish("cancelled");
    void reader.cancel().catch(() => {});
  });
  /** Ends the relay with `tail` (what is queued still goes out first), then closes the client's stream. */
  const end = (kind: StreamOutcome["end"], tail: string) => {
    if (tail) client.send(encoder.encode(tail));
    client.close();
    finish(kind);
  };

  /** When the origin last sent something (or the relay started): heartbeats fill its silences. */
  let heardAt = Date.now();
  /**
   * Runs `heartbeatMs` after the origin last spoke, and is re-armed for the rest of the silence when
   * it spoke since. A heartbeat reaches the client like any event, or fails to: that is how a client
   * that vanished while the origin was silent is noticed.
   */
  const heartbeat = () => {
    if (ended) return;
    const now = Date.now();
    if (now - heardAt >= heartbeatMs) {
      client.send(HEARTBEAT);
      heardAt = now;
    }
    heartbeatTimer = setTimeout(heartbeat, heartbeatMs - (now - heardAt));
  };

  const pump = async (): Promise<void> => {
    for (;;) {
      let chunk: Uint8Array;
      if (pending) {
        chunk = pending;
        pending = null;
      } else {
        const backlog = client.backlog();
        if (backlog) await backlog;
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch {
          if (client.gone) return;
          // Nobody is reading: end quietly, settled for what was delivered.
          if (options.cancelled()) return end("cancelled", "");
          const kind = options.timedOut() ? "timeout" : "broken";
          return end(kind, errorEvent(kind));
        }
        if (client.gone) return;
        heardAt = Date.now();
        if (result.done) {
          buffer += decoder.decode();
          sawCr = false;
          let tail = drain(false)!;
          if (buffer.trim() !== "") tail += rewrite(buffer) ?? buffer;
          buffer = "";
          const complete = sawDone || sawFinish;
          return end(complete ? "completed" : "broken", complete ? tail : tail + errorEvent("broken"));
        }
        chunk = result.value;
      }
      const wasEmpty = buffer === "";
      const text = decoder.decode(chunk, IN_STREAM);
      buffer += text;
      // The buffer holds no CR but what this chunk brought: every drain normalizes what it keeps.
      sawCr = text.includes("\r");
      // The common case: the chunk held whole events and none needed a change; pass its bytes.
      const out = drain(wasEmpty && !sawCr);
      if (out === null) client.send(chunk);
      else if (out) client.send(encoder.encode(out));
    }
  };
  heartbeatTimer = setTimeout(heartbeat, heartbeatMs);
  pump().catch((e: unknown) => {
    // A bug, not the origin's doing: the client's stream errors rather than ending as if complete.
    console.error("sse relay failed", e);
    client.abort(e);
    void reader.cancel().catch(() => {});
    finish("broken");
  });
  return readable;
}
