/**
 * The one place the simulator builds an error response: every failure, whether a bad request or
 * an injected fault, reaches the client as an OpenAI error body
 * `{"error":{"message","type","param","code"}}`.
 */
import { z } from "zod";

/** The OpenAI error body. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** What a caller says about an error; `type` and `code` default from the status. */
export interface ErrorSpec {
  status: number;
  message: string;
  type?: string;
  code?: string | null;
  param?: string | null;
  headers?: Record<string, string>;
}

/** The `type` OpenAI uses for a status: 429 has its own, 5xx are server errors, the rest are the caller's fault. */
function defaultType(status: number): string {
  if (status === 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

function defaultCode(status: number): string | null {
  if (status === 429) return "rate_limit_exceeded";
  if (status === 401) return "invalid_api_key";
  return null;
}

/**
 * Builds an OpenAI-shaped error response.
 * @example
 * errorResponse({ status: 404, message: "Unknown origin: x", code: "not_found" })
 */
export function errorResponse(spec: ErrorSpec): Response {
  const body: OpenAIErrorBody = {
    error: {
      message: spec.message,
      type: spec.type ?? defaultType(spec.status),
      param: spec.param ?? null,
      code: spec.code === undefined ? defaultCode(spec.status) : spec.code,
    },
  };
  const headers = new Headers(spec.headers);
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status: spec.status, headers });
}

/**
 * The 400 of a request body its schema refused: every problem in the message, the first one's path
 * as `param`.
 * @example
 * invalidRequest("chat completion", parsed.error) // 400 "Invalid chat completion request: ✖ ..."
 */
export function invalidRequest(what: string, error: z.ZodError): Response {
  const issue = error.issues[0];
  return errorResponse({
    status: 400,
    message: `Invalid ${what} request: ${z.prettifyError(error)}`,
    param: issue && issue.path.length > 0 ? issue.path.join(".") : null,
  });
}
