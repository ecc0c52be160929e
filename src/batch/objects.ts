/**
 * The Batch API's wire shapes, as OpenAI's SDKs read them: the file object, the batch object, and
 * the lines of a batch's output and error files
 * (https://platform.openai.com/docs/api-reference/batch/request-output). Pure: rows in, JSON out;
 * times are kept in milliseconds and shown in OpenAI's seconds.
 */

/** A file as the store keeps it. */
export interface FileRow extends Record<string, SqlStorageValue> {
  id: string;
  seq: number;
  purpose: string;
  filename: string;
  bytes: number;
  lines: number;
  created_at: number;
  batch_id: string | null;
  kind: string | null;
}

/** A batch as the store keeps it. */
export interface BatchRow extends Record<string, SqlStorageValue> {
  id: string;
  seq: number;
  key_id: string;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  metadata: string | null;
  model: string | null;
  status: BatchStatus;
  created_at: number;
  expires_at: number;
  in_progress_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  total: number;
  completed: number;
  failed: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  output_file_id: string | null;
  error_file_id: string | null;
  next_at: number;
  wait_reason: string | null;
}

export const BATCH_STATUSES = ["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
/** A batch in one of these has work left (or its files to write). */
export const ACTIVE_STATUSES: readonly BatchStatus[] = ["validating", "in_progress", "finalizing", "cancelling"];

export interface FileObject {
  id: string;
  object: "file";
  bytes: number;
  created_at: number;
  filename: string;
  purpose: "batch" | "batch_output";
  status: "processed";
  expires_at: null;
  status_details: null;
}

export interface BatchObject {
  id: string;
  object: "batch";
  endpoint: string;
  model: string | null;
  errors: null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  usage: {
    input_tokens: number;
    input_tokens_details: { cached_tokens: number };
    output_tokens: number;
    output_tokens_details: { reasoning_tokens: number };
    total_tokens: number;
  };
  metadata: Record<string, string> | null;
  /** Ours: why a batch in progress is waiting (a cheaper window, a rate limit), or null. */
  wait_reason: string | null;
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const secondsOrNull = (ms: number | null) => (ms === null ? null : seconds(ms));

export function fileObject(row: FileRow): FileObject {
  return {
    id: row.id,
    object: "file",
    bytes: row.bytes,
    created_at: seconds(row.created_at),
    filename: row.filename,
    purpose: row.purpose === "batch" ? "batch" : "batch_output",
    status: "processed",
    expires_at: null,
    status_details: null,
  };
}

export function batchObject(row: BatchRow): BatchObject {
  return {
    id: row.id,
    object: "batch",
    endpoint: row.endpoint,
    model: row.model,
    errors: null,
    input_file_id: row.input_file_id,
    completion_window: row.completion_window,
    status: row.status,
    output_file_id: row.output_file_id,
    error_file_id: row.error_file_id,
    created_at: seconds(row.created_at),
    in_progress_at: secondsOrNull(row.in_progress_at),
    expires_at: seconds(row.expires_at),
    finalizing_at: secondsOrNull(row.finalizing_at),
    completed_at: secondsOrNull(row.completed_at),
    failed_at: null,
    expired_at: secondsOrNull(row.expired_at),
    cancelling_at: secondsOrNull(row.cancelling_at),
    cancelled_at: secondsOrNull(row.cancelled_at),
    request_counts: { total: row.total, completed: row.completed, failed: row.failed },
    usage: {
      input_tokens: row.input_tokens,
      input_tokens_details: { cached_tokens: row.cached_tokens },
      output_tokens: row.output_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: row.input_tokens + row.output_tokens,
    },
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, string>),
    wait_reason: row.status === "in_progress" ? row.wait_reason : null,
  };
}

/** A new id of a batch request line (`batch_req_…`), a file (`file-…`) or a batch (`batch_…`). */
export function newId(prefix: "batch_req_" | "file-" | "batch_"): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A line of the output file (the request was answered, `status_code` 2xx) or of the error file
 * (the answer was an error: `status_code` and OpenAI's error body), as OpenAI writes them.
 * `body` is the answer's JSON text.
 */
export function responseLine(customId: string, requestId: string, statusCode: number, body: string): string {
  // Parsed and written again: an origin's pretty-printed JSON would break the one-line format.
  const compact = JSON.stringify(JSON.parse(body));
  return `{"id":${JSON.stringify(newId("batch_req_"))},"custom_id":${JSON.stringify(customId)},"response":{"status_code":${statusCode},"request_id":${JSON.stringify(requestId)},"body":${compact}},"error":null}`;
}

/** Why a line never ran: the batch expired (`batch_expired`) or was cancelled (`batch_cancelled`) first. */
export type NotRun = "batch_expired" | "batch_cancelled";

const NOT_RUN_MESSAGES: Record<NotRun, string> = {
  batch_expired: "This request could not be executed before the completion window expired.",
  batch_cancelled: "This request was not executed: the batch was cancelled.",
};

/** A line of the error file for a request that never ran. */
export function notRunLine(customId: string, code: NotRun): string {
  return JSON.stringify({ id: newId("batch_req_"), custom_id: customId, response: null, error: { code, message: NOT_RUN_MESSAGES[code] } });
}
