/**
 * The one place where failures become OpenAI error responses.
 *
 * Every error the router returns has OpenAI's wire shape, so the official SDKs raise the
 * right exception class (`AuthenticationError`, `NotFoundError`, `RateLimitError`, ...):
 * `{"error":{"message","type","param","code"}}` (https://platform.openai.com/docs/guides/error-codes).
 * Internal reasons go to logs, never into `message`.
 */
import type { RateLimitState } from "../ledger/types";
import { setRateLimitHeaders } from "./rate-limit-headers";

/** The error `type` values OpenAI uses, plus the upstream ones a gateway needs. */
export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "requests"
  | "tokens"
  | "insufficient_quota"
  | "server_error"
  | "upstream_error";

/** What went wrong, as data; `toErrorResponse` turns it into a status and a body. */
export type RouterFailure =
  | { kind: "invalid_api_key" }
  | { kind: "missing_api_key" }
  | { kind: "admin_unauthorized" }
  /** The read-only admin token, on a route that changes something. */
  | { kind: "admin_read_only"; method: string }
  | { kind: "model_not_found"; model: string }
  | { kind: "invalid_json" }
  /** JSON nested deeper than `limit` levels (lib/json-depth.ts); `param`: the top-level field that holds it. */
  | { kind: "json_too_deep"; limit: number; param: string | null }
  | { kind: "invalid_body"; message: string; param: string | null }
  /** A batch input file or batch the Batch API refuses (src/batch): the code names which rule, the message the line. */
  | { kind: "invalid_batch_input"; code: "invalid_file" | "file_too_large" | "too_many_requests" | "invalid_line" | "duplicate_custom_id" | "invalid_batch"; message: string; param: string | null }
  | { kind: "body_too_large"; limit: number }
  | { kind: "body_unreadable" }
  | { kind: "unknown_route"; method: string; path: string }
  | { kind: "method_not_allowed"; method: string; path: string }
  /** `param`: the request field that named the missing thing (e.g. `previous_response_id`). */
  | { kind: "not_found"; what: string; param?: string }
  /** A change that the current state refuses; `code` names why (default `conflict`: a stale `ifVersion`). */
  | { kind: "conflict"; message: string; code?: string }
  | { kind: "invalid_config"; problems: { path: string; message: string }[] }
  | { kind: "upstream_timeout" }
  | { kind: "upstream_error" }
  /** A stream that broke, or stalled past its total timeout, after bytes reached the client: its closing SSE error event. */
  | { kind: "upstream_stream_broken" }
  | { kind: "upstream_stream_timeout" }
  /** An origin's own 4xx for the request, passed through in OpenAI's shape (its text already scrubbed). */
  | { kind: "origin_rejected"; status: number; error: OpenAIErrorBody["error"] }
  | { kind: "upstream_rate_limited"; retryAfterSeconds: number | null }
  | { kind: "no_origin_available"; retryAfterSeconds: number | null }
  | { kind: "rate_limited"; dimension: "requests" | "tokens" | "concurrency"; retryAfterSeconds: number; rateLimit?: RateLimitState }
  | { kind: "too_many_auth_failures"; retryAfterSeconds: number }
  | { kind: "insufficient_quota"; what: string; retryAfterSeconds: number | null; rateLimit?: RateLimitState }
  | { kind: "client_closed" }
  | { kind: "internal" };

/** The JSON body of an OpenAI error. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
    /** A config refused by the admin API: every problem found, each at its JSON path. */
    problems?: { path: string; message: string }[];
  };
}

/**
 * `Retry-After` of a 503 whose cause has no known end (every candidate excluded by a boundary, say,
 * or rate limited without saying for how long): its message promises a delay, so it always has one.
 */
export const DEFAULT_RETRY_AFTER_SECONDS = 30;

interface Rendered {
  status: number;
  /** One of ours, or an origin's own (passed through). */
  type: OpenAIErrorType | (string & {});
  code: string | null;
  message: string;
  param?: string | null;
  retryAfterSeconds?: number | null;
  problems?: { path: string; message: string }[];
}

function render(failure: RouterFailure): Rendered {
  switch (failure.kind) {
    case "missing_api_key":
      return {
        status: 401,
        type: "invalid_request_error",
        code: "missing_api_key",
        message:
          "You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY'.",
      };
    case "invalid_api_key":
      return {
        status: 401,
        type: "invalid_request_error",
        code: "invalid_api_key",
        message: "Incorrect API key provided.",
      };
    case "admin_unauthorized":
      return {
        status: 401,
        type: "authentication_error",
        code: "invalid_admin_token",
        message: "The admin API needs a valid admin token in 'Authorization: Bearer ...'.",
      };
    case "admin_read_only":
      return {
        status: 403,
        type: "permission_error",
        code: "permission_denied",
        message: `The read-only admin token may only read (GET); ${failure.method} needs the admin token.`,
      };
    case "model_not_found":
      return {
        status: 404,
        type: "invalid_request_error",
        code: "model_not_found",
        message: `The model \`${failure.model}\` does not exist or you do not have access to it.`,
        param: "model",
      };
    case "invalid_json":
      return {
        status: 400,
        type: "invalid_request_error",
        code: "invalid_json",
        message: "The request body is not valid JSON.",
      };
    case "json_too_deep":
      return {
        status: 400,
        type: "invalid_request_error",
        code: "json_too_deep",
        message: `The request body's JSON nests deeper than ${failure.limit} levels.`,
        param: failure.param,
      };
    case "invalid_body":
      return {
        status: 400,
        type: "invalid_request_error",
        code: "invalid_value",
        message: failure.message,
        param: failure.param,
      };
    case "invalid_batch_input":
      return { status: 400, type: "invalid_request_error", code: failure.code, message: failure.message, param: failure.param };
    case "body_too_large":
      return {
        status: 413,
        type: "invalid_request_error",
        code: "request_too_large",
        message: `The request body exceeds the limit of ${failure.limit} bytes.`,
      };
    case "body_unreadable":
      return {
        status: 400,
        type: "invalid_request_error",
        code: "invalid_body",
        message: "The request body could not be read (malformed framing, or the connection broke before it ended).",
      };
    case "unknown_route":
      return {
        status: 404,
        type: "invalid_request_error",
        code: "unknown_url",
        message: `Invalid URL (${failure.method} ${failure.path})`,
      };
    case "method_not_allowed":
      return {
        status: 405,
        type: "invalid_request_error",
        code: "method_not_allowed",
        message: `Method ${failure.method} is not allowed on ${failure.path}.`,
      };
    case "not_found":
      return {
        status: 404,
        type: "not_found_error",
        code: "not_found",
        message: `${failure.what} was not found.`,
        param: failure.param ?? null,
      };
    case "conflict":
      return { status: 409, type: "invalid_request_error", code: failure.code ?? "conflict", message: failure.message };
    case "invalid_config": {
      const n = failure.problems.length;
      return {
        status: 400,
        type: "invalid_request_error",
        code: "invalid_config",
        param: failure.problems[0]?.path ?? null,
        message: `The config has ${n} problem${n === 1 ? "" : "s"}: ${failure.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`.slice(0, 4000),
        problems: failure.problems,
      };
    }
    case "upstream_timeout":
      return {
        status: 504,
        type: "upstream_error",
        code: "upstream_timeout",
        message: "No origin answered in time. The request can be retried.",
      };
    case "upstream_error":
      return {
        status: 502,
        type: "upstream_error",
        code: "upstream_error",
        message: "Every origin for this model failed. The request can be retried.",
      };
    case "upstream_stream_broken":
      return {
        status: 502,
        type: "upstream_error",
        code: "upstream_stream_broken",
        message: "The origin's stream broke off before the response was complete.",
      };
    case "upstream_stream_timeout":
      return {
        status: 504,
        type: "upstream_error",
        code: "upstream_timeout",
        message: "The origin stopped sending before the response was complete (timeout).",
      };
    case "origin_rejected":
      return { status: failure.status, ...failure.error, code: failure.error.code };
    case "upstream_rate_limited":
      return {
        status: 503,
        type: "upstream_error",
        code: "upstream_rate_limited",
        message: "Every origin for this model is rate limited right now. Retry after the indicated delay.",
        retryAfterSeconds: failure.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
      };
    case "no_origin_available":
      return {
        status: 503,
        type: "upstream_error",
        code: "no_origin_available",
        message: "No origin for this model is available right now. Retry after the indicated delay.",
        retryAfterSeconds: failure.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
      };
    case "rate_limited":
      return {
        status: 429,
        // OpenAI names the limit in `type`: "requests" or "tokens".
        type: failure.dimension === "tokens" ? "tokens" : "requests",
        code: "rate_limit_exceeded",
        message:
          failure.dimension === "concurrency"
            ? "Too many requests in flight for this key or organization. Retry when one has finished."
            : `Rate limit reached for ${failure.dimension} per minute. Retry after the indicated delay.`,
        retryAfterSeconds: failure.retryAfterSeconds,
      };
    case "too_many_auth_failures":
      return {
        status: 429,
        type: "requests",
        code: "rate_limit_exceeded",
        message: "Too many failed authentications from this address. Retry after the indicated delay.",
        retryAfterSeconds: failure.retryAfterSeconds,
      };
    case "insufficient_quota":
      return {
        status: 429,
        type: "insufficient_quota",
        code: "insufficient_quota",
        message: `You exceeded your current quota: ${failure.what}.`,
        // When the budget's period ends, it can be spent again.
        retryAfterSeconds: failure.retryAfterSeconds,
      };
    case "client_closed":
      // nginx's 499: nobody reads it; it names the outcome in logs and traces.
      return {
        status: 499,
        type: "invalid_request_error",
        code: "client_closed_request",
        message: "The client closed the request before the answer was ready.",
      };
    case "internal":
      return {
        status: 500,
        type: "server_error",
        code: "internal_error",
        message: "The router failed to process the request. The request can be retried.",
      };
  }
}

/** The OpenAI error body of a failure, and its HTTP status. */
export function describeFailure(failure: RouterFailure): { status: number; body: OpenAIErrorBody; retryAfterSeconds: number | null } {
  const r = render(failure);
  return {
    status: r.status,
    body: { error: { message: r.message, type: r.type, param: r.param ?? null, code: r.code, ...(r.problems ? { problems: r.problems } : {}) } },
    retryAfterSeconds: r.retryAfterSeconds ?? null,
  };
}

/**
 * Builds the HTTP response for a failure.
 *
 * @example
 * return toErrorResponse({ kind: "model_not_found", model: "gpt-9" }); // 404, code "model_not_found"
 */
export function toErrorResponse(failure: RouterFailure, headers?: HeadersInit): Response {
  const { status, body, retryAfterSeconds } = describeFailure(failure);
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  if (retryAfterSeconds !== null) h.set("retry-after", String(Math.max(1, Math.ceil(retryAfterSeconds))));
  // A refusal for a limit or a budget says where the caller's limits stand, as every answer does.
  if ((failure.kind === "rate_limited" || failure.kind === "insufficient_quota") && failure.rateLimit) setRateLimitHeaders(h, failure.rateLimit);
  return new Response(JSON.stringify(body), { status, headers: h });
}

/**
 * An origin's 4xx answer as a failure in OpenAI's shape, whatever it sent: its own `error` object
 * when it sent one (every string scrubbed of secrets), else a generic message with its status.
 */
export function originRejection(status: number, text: string, scrub: (text: string) => string): RouterFailure {
  try {
    const e = (JSON.parse(text) as { error?: Record<string, unknown> }).error;
    if (e && typeof e.message === "string") {
      return {
        kind: "origin_rejected",
        status,
        error: {
          message: scrub(e.message),
          type: typeof e.type === "string" ? scrub(e.type) : "invalid_request_error",
          param: typeof e.param === "string" ? scrub(e.param) : null,
          code: typeof e.code === "string" ? scrub(e.code) : null,
        },
      };
    }
  } catch {
    // not JSON: the generic body below
  }
  return { kind: "origin_rejected", status, error: { message: `The origin rejected the request (status ${status}).`, type: "invalid_request_error", param: null, code: null } };
}

/** Thrown inside handlers to end the request with an OpenAI error; caught in one place (app.onError). */
export class RouterError extends Error {
  constructor(readonly failure: RouterFailure) {
    super(failure.kind);
    this.name = "RouterError";
  }
}
