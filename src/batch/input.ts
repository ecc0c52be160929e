/**
 * A batch input file: JSON Lines, one request per line, as OpenAI's Batch API takes it
 * (https://platform.openai.com/docs/api-reference/batch/request-input):
 *
 *   {"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {...}}
 *
 * Checked whole at upload, so a batch never starts on a file it cannot run: the file's size and
 * line count, each line's size, its JSON, its fields, `custom_id` unique in the file, and its body
 * as the endpoint itself validates one. The first problem is the 400, naming its line. Pure.
 */
import { z } from "zod";
import { utf8ByteLength } from "../lib/bytes";
import { MAX_JSON_DEPTH, tooDeepAt } from "../lib/json-depth";
import { formatPath } from "../lib/zod-path";
import { RouterError, type RouterFailure } from "../openai/errors";
import { parseProxyRequest, type ProxyRequest } from "../openai/requests";
import type { BatchSettings } from "./settings";

/** The endpoints a batch may call, by the `url` its lines name. */
export const BATCH_ENDPOINTS = { "/v1/chat/completions": "chat", "/v1/embeddings": "embeddings" } as const satisfies Record<string, ProxyRequest["endpoint"]>;
export type BatchUrl = keyof typeof BATCH_ENDPOINTS;
export const BATCH_URLS = Object.keys(BATCH_ENDPOINTS) as [BatchUrl, ...BatchUrl[]];

/** One request of an input file. */
export interface InputLine {
  /** Its line number in the file (from 1; blank lines count). */
  line: number;
  customId: string;
  url: BatchUrl;
  /** The `model` its body names. */
  model: string;
  /** The line as uploaded (a trailing CR removed). */
  text: string;
}

const lineSchema = z.looseObject({
  custom_id: z.string().min(1).max(512),
  method: z.literal("POST", { error: 'must be "POST"' }),
  url: z.enum(BATCH_URLS, { error: `must be one of ${BATCH_URLS.join(", ")}` }),
  body: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }),
});

type Code = Extract<RouterFailure, { kind: "invalid_batch_input" }>["code"];

function refuse(code: Code, message: string, param: string | null = null): never {
  throw new RouterError({ kind: "invalid_batch_input", code, message, param });
}

/**
 * The requests of an uploaded file, or the 400 of its first problem.
 * @example
 * parseBatchFile(new TextEncoder().encode('{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"hi"}}\n'), settings)
 * // [{ line: 1, customId: "a", url: "/v1/embeddings", model: "m", text: "{...}" }]
 */
export function parseBatchFile(bytes: Uint8Array, settings: Pick<BatchSettings, "maxFileBytes" | "maxLines" | "maxLineBytes">): InputLine[] {
  if (bytes.byteLength > settings.maxFileBytes) refuse("file_too_large", `The file is ${bytes.byteLength} bytes; a batch input file may be at most ${settings.maxFileBytes} bytes.`, "file");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return refuse("invalid_file", "The file is not UTF-8 text: a batch input file is JSON Lines.", "file");
  }
  const lines: InputLine[] = [];
  const seen = new Map<string, number>();
  const physical = text.split("\n");
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i]!;
    const lineText = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (lineText.trim() === "") continue;
    const line = i + 1;
    if (lines.length === settings.maxLines) refuse("too_many_requests", `The file has more than ${settings.maxLines} requests (lines); split it into several batches.`, "file");
    const size = utf8ByteLength(lineText);
    if (size > settings.maxLineBytes) refuse("invalid_line", `Line ${line} is ${size} bytes; a request may be at most ${settings.maxLineBytes} bytes.`, "file");
    const parsed = parseLine(lineText, line);
    const earlier = seen.get(parsed.customId);
    if (earlier !== undefined) refuse("duplicate_custom_id", `Line ${line}: custom_id '${parsed.customId}' is already used on line ${earlier}; each request needs its own.`, "custom_id");
    seen.set(parsed.customId, line);
    lines.push(parsed);
  }
  if (lines.length === 0) refuse("invalid_file", "The file holds no requests: a batch input file has one JSON request per line.", "file");
  return lines;
}

function parseLine(text: string, line: number): InputLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse("invalid_line", `Line ${line} is not valid JSON.`);
  }
  // Its body is sent as the router sends any request's (lib/json-depth.ts): no deeper than a request's
  // may be, one level below the line's own object. `param` names the field, as for any body's.
  const deep = tooDeepAt(value, MAX_JSON_DEPTH + 1);
  if (deep !== undefined) {
    const field = deep === "body" ? tooDeepAt((value as { body: unknown }).body, MAX_JSON_DEPTH) : undefined;
    return refuse("invalid_line", `Line ${line}: it nests deeper than ${MAX_JSON_DEPTH} levels below its body.`, field ? `body.${field}` : deep);
  }
  const result = lineSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = issue.path.length > 0 ? formatPath(issue.path) : null;
    return refuse("invalid_line", param ? `Line ${line}: '${param}' ${issue.message}.` : `Line ${line} must be a JSON object with custom_id, method, url and body.`, param);
  }
  const { custom_id: customId, url, body } = result.data;
  let request: ProxyRequest;
  try {
    request = parseProxyRequest(BATCH_ENDPOINTS[url], body);
  } catch (e) {
    if (e instanceof RouterError && e.failure.kind === "invalid_body") {
      const param = e.failure.param === null ? "body" : `body.${e.failure.param}`;
      return refuse("invalid_line", `Line ${line} (custom_id '${customId}'): ${e.failure.message}`, param);
    }
    throw e;
  }
  if (request.endpoint === "chat" && request.body.stream === true) {
    refuse("invalid_line", `Line ${line} (custom_id '${customId}'): a batch request cannot stream; remove 'stream'.`, "body.stream");
  }
  return { line, customId, url, model: request.body.model, text };
}
