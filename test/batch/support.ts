/**
 * Calling the Batch API as clients do (`SELF.fetch`, multipart uploads), and driving a tenant's
 * BatchStore through its real stub at injected instants (`advance(now)`: what its alarm runs).
 */
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { BatchObject, FileObject } from "../../src/batch/objects";

const BASE = "http://router.test";

/** One request line of an input file. */
export function line(customId: string, body: Record<string, unknown>, url = "/v1/chat/completions"): string {
  return JSON.stringify({ custom_id: customId, method: "POST", url, body });
}

/** A chat line for `model`, with a short prompt of its own. */
export function chatLine(customId: string, model: string, extra: Record<string, unknown> = {}): string {
  return line(customId, { model, messages: [{ role: "user", content: `Say something about ${customId}` }], ...extra });
}

/** An input file's text: the lines, one per line. */
export function jsonl(lines: string[]): string {
  return lines.map((l) => `${l}\n`).join("");
}

/** `POST /v1/files` as the SDKs send it (multipart: `purpose` and `file`). */
export function upload(key: string | null, content: string | Uint8Array, options: { purpose?: string; filename?: string } = {}): Promise<Response> {
  const form = new FormData();
  form.append("purpose", options.purpose ?? "batch");
  form.append("file", new Blob([content]), options.filename ?? "requests.jsonl");
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  return SELF.fetch(`${BASE}/v1/files`, { method: "POST", body: form, headers });
}

/** Uploads and returns the file object (failing the test on anything but 200). */
export async function uploaded(key: string, lines: string[]): Promise<FileObject> {
  const res = await upload(key, jsonl(lines));
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as FileObject;
}

export function call(key: string | null, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return SELF.fetch(`${BASE}/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** The tenant's BatchStore stub. */
export function storeOf(tenantId: string) {
  return env.BATCH_STORE.getByName(tenantId);
}

/** Creates a batch in the store at an injected instant, as `POST /v1/batches` would at `at`. */
export async function batchAt(tenantId: string, keyId: string, inputFileId: string, at: number, endpoint: "/v1/chat/completions" | "/v1/embeddings" = "/v1/chat/completions"): Promise<BatchObject> {
  const answer = await storeOf(tenantId).createBatch({ keyId, inputFileId, endpoint, completionWindow: "24h", metadata: null }, at);
  if (!answer.ok) throw new Error(`batch refused: ${JSON.stringify(answer.failure)}`);
  return answer.value as BatchObject;
}

/** Runs the store's steps due at `at` until none is (a batch waits past `at`, or all are done); returns the next due instant. */
export async function advanceAll(tenantId: string, at: number): Promise<number | null> {
  const store = storeOf(tenantId);
  for (let i = 0; i < 1_000; i++) {
    const next = await store.advance(at);
    if (next === null || next > at) return next;
  }
  throw new Error("the batch store never settled down");
}

export async function batchOf(tenantId: string, id: string): Promise<BatchObject> {
  return (await storeOf(tenantId).getBatch(id)) as BatchObject;
}

/** A file's content through the API, as parsed lines. */
export async function contentOf(key: string, fileId: string): Promise<Array<Record<string, any>>> {
  const res = await call(key, "GET", `/files/${fileId}/content`);
  expect(res.status).toBe(200);
  const text = await textOf(res);
  expect(text.endsWith("\n")).toBe(true);
  return text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** A JSON Lines body as text (not `.text()`: workerd warns that `application/jsonl` "does not appear to be text"). */
export async function textOf(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}

/** Polls the batch through the API until it ends (real alarms run it). */
export async function finished(key: string, id: string): Promise<BatchObject> {
  for (let i = 0; i < 1_500; i++) {
    const batch = (await (await call(key, "GET", `/batches/${id}`)).json()) as BatchObject;
    if (["completed", "failed", "expired", "cancelled"].includes(batch.status)) return batch;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`batch ${id} did not finish`);
}
