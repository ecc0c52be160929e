/**
 * Forwarding one request to its candidate origins in order, with fallback (DESIGN §6).
 *
 * The next candidate is tried on a connection error, a timeout to first byte, a 429, a 5xx, an
 * origin that rejects our credentials (401/403), or a broken or unreadable answer: always before
 * anything reached the client. For a stream, "first byte" means the first body chunk, which is
 * read here before the response is committed, so an origin that sends headers and then fails
 * still falls back (see `readHead`). Other 4xx answers are the client's problem and are passed through.
 *
 * A Responses API request goes to each target in its own tongue (`ForwardRequest.responses`): a
 * target that speaks it is sent the Responses body at `/responses`, and its answer (JSON, or the
 * event stream) is read back as the chat answer it stands for before anything else looks at it, so
 * the first-token rule, the relay, usage and what the caller does with the answer are chat's. It
 * is sent chat instead when its provider refuses the request's cap (`responsesMinOutputTokens`),
 * or when this isolate saw it answer a Responses request with 404 or 405 lately
 * (`ResponsesRefusals`): such an answer is no failure of the origin's, and the same target is
 * sent the chat request at once (one attempt for the health and settlement accounts, both calls
 * in `x-router-attempts`).
 */
import { speaksResponses } from "../config/origins";
import { PROVIDER_PROFILES } from "../config/providers";
import type { OriginConfig } from "../config/schema";
import { concatBytes } from "../lib/bytes";
import { tooDeepAt } from "../lib/json-depth";
import { originRejection, type RouterFailure } from "../openai/errors";
import { readUsage, type Usage } from "../openai/usage";
import type { Cooldowns } from "./cooldowns";
import type { ResponsesRefusals } from "./responses-refusals";
import type { Scrub } from "./scrub";
import { ChatChunksOfResponseEvents, chatCompletionOfResponse } from "../openai/responses/native";
import { carriesText, dataOf, relaySse, type StreamOutcome } from "./sse-relay";
import { rewriteSse } from "./sse-transform";
import { StreamAnswer } from "../outcomes/gates";
import { UPSTREAM_PATHS, upstreamBody, upstreamHeaders, type SecretReader, type UpstreamEndpoint } from "./upstream-request";

/** One place a request may be served: an origin and the model name it knows. */
export interface Target {
  originName: string;
  origin: OriginConfig;
  model: string;
}

/** An attempt's result: the origin's HTTP status, or why there was none. */
export type AttemptResult =
  | number
  | "timeout"
  | "connect_error"
  | "broken"
  | "invalid_response"
  | "no_credentials"
  | "cooling_down"
  /** The client went away: the origin call was cancelled, and no other origin is tried. */
  | "cancelled";

export interface AttemptLog {
  origin: string;
  result: AttemptResult;
  /** When the attempt started, by the router's clock (epoch ms): its health sample's `at`. */
  startedAt: number;
  /** When it started, by the real clock: durations are measured from it. */
  began: number;
  /** Until its outcome was known: the answer (non-streamed) or the first token (streamed). */
  ms: number;
}

export type Forwarded =
  /** A JSON answer: its text, and the object it parsed to (read once). */
  | { kind: "json"; target: Target; text: string; answer: Record<string, unknown>; usage: Usage | null; attempts: AttemptLog[] }
  | { kind: "stream"; target: Target; body: ReadableStream<Uint8Array>; outcome: Promise<StreamOutcome>; attempts: AttemptLog[] }
  /** The origin's own 4xx for the request: passed through (`failure` is `origin_rejected`). */
  | { kind: "origin_error"; target: Target; status: number; failure: RouterFailure; attempts: AttemptLog[] }
  | { kind: "failed"; failure: RouterFailure; attempts: AttemptLog[] }
  /** The client went away before an answer: `target` is the origin that was being called, if any. */
  | { kind: "cancelled"; target: Target | null; attempts: AttemptLog[] };

/**
 * The client's going away, as a request's path listens to it (`request/departure.ts`): in
 * JavaScript, with one listener on the runtime's signal per request.
 */
export interface ClientDeparture {
  readonly aborted: boolean;
  /** Calls `listener` once, when the client goes away. */
  on(listener: () => void): void;
  off(listener: () => void): void;
}

export interface ForwardRequest {
  /** The endpoint called under the origin's base URL (`UPSTREAM_PATHS`). */
  endpoint: UpstreamEndpoint;
  body: Record<string, unknown>;
  /**
   * A Responses API request's body for the targets that speak it (`speaksResponses`): they are sent
   * it at `/responses` instead of `body`, and their answer is read back as the chat answer it
   * stands for (`openai/responses/native.ts`), so that fallback, the relay, usage and what comes
   * after are chat's. Absent: every target is sent `body`.
   */
  responses?: Record<string, unknown> | null;
  stream: boolean;
  /** Whether the client asked for `stream_options.include_usage` itself. */
  clientWantsUsage: boolean;
  targets: readonly Target[];
  requestId: string;
  clientHeaders: Headers;
  /**
   * The client's going away (its request signal, `enable_request_signal`): when the client
   * disconnects, the origin call in progress is cancelled (its fetch, or its stream being relayed)
   * and no other origin is tried, so neither the origin nor the tenant's reservation is held until
   * a timeout.
   */
  client?: ClientDeparture;
  readSecret: SecretReader;
  /** Applied to every origin text passed on to the client (error messages): see scrub.ts. */
  scrub: Scrub;
  /** SSE keep-alive comments while a relayed stream's origin is silent (`limits.streamHeartbeatMs`). */
  heartbeatMs: number;
  /** This isolate's origins in a `Retry-After` cool-down. */
  cooldowns: Cooldowns;
  /** This isolate's origins that refused a Responses request lately (sent chat instead); absent: none remembered. */
  responsesRefusals?: ResponsesRefusals;
  /** The router's clock: when each attempt started (durations are measured on the real clock). */
  now?: () => number;
  /** Called as each attempt starts (health accounting of requests in flight). */
  onAttempt?: (target: Target) => void;
  /** `prompt_cache_key` for origins whose provider takes one (see affinity/prompt-cache-key.ts). */
  promptCacheKey?: string | null;
  /** What a usage served by `target` costs the tenant (µ$): a stream's `usage.cost`, for a client that asked for usage. */
  costOf?: (target: Target, usage: Usage) => number;
  /** Collect a relayed stream's answer for the scenario's quality gates (`StreamOutcome.answer`). */
  collectAnswer?: boolean;
}

/** Seconds from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/**
 * Statuses after which another origin may well succeed. A 3xx is an origin failure like a 5xx:
 * redirects are never followed (see `attempt`), and an API that answers a POST with one is not
 * answering it.
 */
function isRetryableStatus(status: number): boolean {
  return (status >= 300 && status < 400) || status === 429 || status >= 500 || status === 401 || status === 403 || status === 408;
}

type AttemptOutcome = { done: Forwarded } | { retry: AttemptResult; retryAfterSeconds: number | null };

/** What to tell the client when every candidate failed, from how the attempts ended. */
function failureOf(attempts: AttemptLog[], retryAfter: number | null): RouterFailure {
  const tried = attempts.filter((a) => a.result !== "cooling_down" && a.result !== "no_credentials");
  if (tried.length === 0) return { kind: "no_origin_available", retryAfterSeconds: retryAfter };
  if (tried.every((a) => a.result === 429)) return { kind: "upstream_rate_limited", retryAfterSeconds: retryAfter };
  if (tried.some((a) => a.result === "timeout")) return { kind: "upstream_timeout" };
  return { kind: "upstream_error" };
}

/** Whether `target` is sent the request's Responses body rather than its chat body (module comment). */
function sendsResponses(request: ForwardRequest, target: Target, now: number): boolean {
  if (request.responses == null || !speaksResponses(target.origin)) return false;
  const cap = request.responses.max_output_tokens;
  if (typeof cap === "number" && cap < PROVIDER_PROFILES[target.origin.provider].responsesMinOutputTokens) return false;
  return !request.responsesRefusals?.refuses(target.originName, now);
}

/** A Responses request's answer that says the origin has no Responses API (a 404 with a model it knows, a 405). */
const refusesResponses = (status: number) => status === 404 || status === 405;

/**
 * One call to `target`. `asChat`: the retry, as chat, of a Responses request the origin answered
 * 404 or 405 (the same attempt, already counted by `onAttempt`).
 */
async function attempt(request: ForwardRequest, target: Target, attempts: AttemptLog[], now: () => number, asChat = false): Promise<AttemptOutcome> {
  const { origin } = target;
  const startedAt = now();
  const started = Date.now();
  const log = (result: AttemptResult) => attempts.push({ origin: target.originName, result, startedAt, began: started, ms: Date.now() - started });

  const headers = upstreamHeaders(request.clientHeaders, origin, request.requestId, request.readSecret);
  if (!headers) {
    console.error(`origin ${target.originName}: secret ${origin.apiKeySecret} is not set`);
    log("no_credentials");
    return { retry: "no_credentials", retryAfterSeconds: null };
  }
  if (!asChat) request.onAttempt?.(target);

  const controller = new AbortController();
  let timedOut = false;
  let cancelled = false;
  const abort = () => {
    timedOut = true;
    controller.abort();
  };
  const clientGone = () => {
    cancelled = true;
    controller.abort();
  };
  request.client?.on(clientGone);
  // One timer for both timeouts (a timer is a call into the runtime to set and another to clear):
  // it fires at the first-byte deadline, and when the first byte came by then, is set again for
  // what is left of the total.
  const { firstByteMs, totalMs } = origin.timeouts;
  let firstByte = false;
  const deadline = () => {
    const left = totalMs - (Date.now() - started);
    if (!firstByte || left <= 0) abort();
    else timer = setTimeout(deadline, left);
  };
  let timer = setTimeout(deadline, Math.min(firstByteMs, totalMs));
  /** The attempt is over: nothing may abort it any more. */
  const clearTimers = () => {
    clearTimeout(timer);
    request.client?.off(clientGone);
  };
  /** Why a fetch or a read failed: the client left, a timeout fired, or the origin's own doing. */
  const cause = (otherwise: AttemptResult): AttemptResult => (cancelled ? "cancelled" : timedOut ? "timeout" : otherwise);
  const fail = (result: AttemptResult, retryAfterSeconds: number | null = null): AttemptOutcome => {
    clearTimers();
    log(result);
    return { retry: result, retryAfterSeconds };
  };

  const native = !asChat && sendsResponses(request, target, startedAt);
  const endpoint = native ? "responses" : request.endpoint;
  let response: Response;
  try {
    response = await fetch(`${origin.baseUrl}${UPSTREAM_PATHS[endpoint]}`, {
      method: "POST",
      headers,
      // Never follow an origin's redirect: the prompt would go to a host the config does not name,
      // outside the request's data boundary (a 307 re-sends the body; a 302 turns it into a GET).
      redirect: "manual",
      body: upstreamBody(native ? request.responses! : request.body, endpoint, target, request.stream, request.promptCacheKey ?? null),
      signal: controller.signal,
    });
  } catch {
    return fail(cause("connect_error"));
  }

  if (!response.ok) {
    if (native && refusesResponses(response.status)) {
      await response.body?.cancel().catch(() => {});
      clearTimers();
      log(response.status);
      if (request.client?.aborted) return { retry: "cancelled", retryAfterSeconds: null };
      const outcome = await attempt(request, target, attempts, now, true);
      // The chat call refused too: the model, not the endpoint, is what the origin does not know.
      const alsoRefused = "done" in outcome && outcome.done.kind === "origin_error" && refusesResponses(outcome.done.status);
      if (!alsoRefused) request.responsesRefusals?.refused(target.originName, now());
      return outcome;
    }
    if (isRetryableStatus(response.status)) {
      const retryAfter = parseRetryAfter(response.headers.get("retry-after"), Date.now());
      if (retryAfter !== null && (response.status === 429 || response.status === 503)) request.cooldowns.coolDown(target.originName, retryAfter, Date.now());
      await response.body?.cancel().catch(() => {});
      return fail(response.status, retryAfter);
    }
    const failure = originRejection(response.status, await response.text().catch(() => ""), request.scrub);
    clearTimers();
    log(response.status);
    return { done: { kind: "origin_error", target, status: response.status, failure, attempts } };
  }

  const profile = PROVIDER_PROFILES[origin.provider];
  if (request.stream) {
    if (!response.body) return fail("invalid_response");
    const reader = (native ? chatStreamOf(response.body) : response.body).getReader();
    const head = await readHead(reader);
    if (head.kind !== "ok") {
      await reader.cancel().catch(() => {});
      return fail(head.kind === "read_error" ? cause("broken") : head.kind);
    }
    firstByte = true;
    log(response.status);
    let resolveOutcome!: (o: StreamOutcome) => void;
    const outcome = new Promise<StreamOutcome>((resolve) => (resolveOutcome = resolve));
    const body = relaySse({
      first: head.bytes,
      reader,
      clientWantsUsage: request.clientWantsUsage,
      profile,
      scrub: request.scrub,
      timedOut: () => timedOut,
      cancelled: () => cancelled,
      heartbeatMs: request.heartbeatMs,
      ...(request.costOf ? { costOf: (usage: Usage) => request.costOf!(target, usage) } : {}),
      ...(request.collectAnswer ? { answer: new StreamAnswer() } : {}),
      onEnd: (o) => {
        clearTimers();
        resolveOutcome(o);
      },
    });
    return { done: { kind: "stream", target, body, outcome, attempts } };
  }

  firstByte = true;
  let text: string;
  try {
    text = await response.text();
  } catch {
    return fail(cause("broken"));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail("invalid_response");
  }
  // Nested past what the router may serialize again (lib/json-depth.ts): no answer, move on.
  if (tooDeepAt(json) !== undefined) return fail("invalid_response");
  if (native) {
    json = chatCompletionOfResponse(json);
    text = JSON.stringify(json);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return fail("invalid_response");
  clearTimers();
  log(response.status);
  const answer = json as Record<string, unknown>;
  const usage = readUsage(answer.usage, profile);
  return { done: { kind: "json", target, text, answer, usage, attempts } };
}

/** A Responses origin's event stream as the chat stream it stands for (`ChatChunksOfResponseEvents`). */
function chatStreamOf(events: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const chunks = new ChatChunksOfResponseEvents();
  return rewriteSse(events, {
    event(event) {
      const data = dataOf(event);
      if (data === null) return "";
      try {
        return chunks.event(JSON.parse(data));
      } catch {
        return "";
      }
    },
  });
}

/** Past this much stream without a token, the origin is not answering in any useful way. */
const MAX_HEAD_BYTES = 64 * 1024;

type Head = { kind: "ok"; bytes: Uint8Array } | { kind: "read_error" } | { kind: "broken" } | { kind: "invalid_response" };

/**
 * Reads a stream until its first token (or its end, a finish or an error event) and returns the
 * bytes read. Until then nothing has been sent to the client, so an origin that sends its role
 * chunk and then fails, or streams an error event first, still falls back; and the first-byte
 * timeout bounds the time to first token, not merely to a role chunk.
 */
async function readHead(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Head> {
  const decoder = new TextDecoder();
  const chunks: Uint8Array[] = [];
  let text = "";
  let size = 0;
  for (;;) {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch {
      return { kind: "read_error" };
    }
    if (result.done) return { kind: "broken" };
    chunks.push(result.value);
    size += result.value.byteLength;
    text += decoder.decode(result.value, { stream: true });
    if (/^data: ?\{"error"/m.test(text)) return { kind: "broken" };
    if (carriesText(text) || text.includes('"finish_reason":"') || text.includes("[DONE]")) break;
    if (size > MAX_HEAD_BYTES) return { kind: "invalid_response" };
  }
  return { kind: "ok", bytes: concatBytes(chunks) };
}

/** Tries the targets in order until one answers; see the module comment for what falls back. */
export async function forward(request: ForwardRequest): Promise<Forwarded> {
  const now = request.now ?? Date.now;
  const attempts: AttemptLog[] = [];
  let retryAfter: number | null = null;
  const noteRetryAfter = (seconds: number | null) => {
    if (seconds !== null) retryAfter = retryAfter === null ? seconds : Math.min(retryAfter, seconds);
  };
  for (const target of request.targets) {
    if (request.client?.aborted) return { kind: "cancelled", target: null, attempts };
    const until = request.cooldowns.skippedUntil(target.originName, Date.now());
    if (until !== null) {
      attempts.push({ origin: target.originName, result: "cooling_down", startedAt: now(), began: Date.now(), ms: 0 });
      noteRetryAfter(Math.ceil((until - Date.now()) / 1000));
      continue;
    }
    const outcome = await attempt(request, target, attempts, now);
    if ("done" in outcome) return outcome.done;
    if (outcome.retry === "cancelled") return { kind: "cancelled", target, attempts };
    noteRetryAfter(outcome.retryAfterSeconds);
  }
  return { kind: "failed", failure: failureOf(attempts, retryAfter), attempts };
}

/** `x-router-attempts`: `origin;result=503;ms=12, origin;result=200;ms=40`. */
export function formatAttempts(attempts: readonly AttemptLog[]): string {
  return attempts.map((a) => `${a.origin};result=${a.result};ms=${a.ms}`).join(", ");
}
