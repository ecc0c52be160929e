/**
 * OpenAI's Batch API (issue #19, section 4), as the official SDKs call it: files (`/v1/files`,
 * purpose `batch`: the input as JSON Lines, and each batch's output and error files) and batches
 * (`/v1/batches`). Everything lives in the caller's tenant's BatchStore, reached only once its key
 * is verified, so a tenant sees its own files and batches only and a made-up key creates nothing.
 * How batches run: src/batch/batch-store.ts.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { Answer, BatchStore } from "../batch/batch-store";
import { BATCH_URLS, parseBatchFile } from "../batch/input";
import type { BatchObject, FileObject } from "../batch/objects";
import type { AppEnv } from "../env";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { documented } from "../openapi/registry";
import { readBodyBytes, readJsonBody } from "../proxy/read-body";
import { verifiedCaller } from "../request/authenticate";
import { requestContext } from "../request/context";

/** What a multipart upload may add to the file itself (boundaries, the other fields). */
const MULTIPART_SLACK_BYTES = 64 * 1024;
/** A page of file content read from the store at a time. */
const CONTENT_PAGE_BYTES = 1024 * 1024;

const metadataSchema = z
  .record(z.string().min(1).max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, "at most 16 keys")
  .describe("Up to 16 keys of at most 64 characters, values of at most 512.");

export const createBatchSchema = z.object({
  input_file_id: z.string().min(1).max(128),
  endpoint: z.enum(BATCH_URLS),
  completion_window: z.literal("24h"),
  metadata: metadataSchema.nullish(),
});

export const uploadFormSchema = z.object({
  purpose: z.literal("batch"),
  file: z.string().meta({ format: "binary", description: "JSON Lines: one `{custom_id, method: POST, url, body}` request per line." }),
});

const listQuery = z.object({
  after: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

documented(
  {
    method: "post",
    path: "/v1/files",
    tag: "OpenAI",
    auth: "tenant",
    summary: "Uploads a batch input file (purpose `batch`)",
    description: "Checked whole: its size, line count and line sizes (`batches` in the config), each line's JSON and fields, `custom_id` unique, `method` POST, `url` /v1/chat/completions or /v1/embeddings, and its body as that endpoint validates one. The first problem is a 400 that names its line.",
    form: uploadFormSchema,
    responses: { 200: { description: "The file object `{id, object: file, bytes, created_at, filename, purpose, status}`" } },
  },
  { method: "get", path: "/v1/files", tag: "OpenAI", auth: "tenant", summary: "The tenant's files, newest first", query: listQuery, responses: { 200: { description: "`{object: list, data, first_id, last_id, has_more}`" } } },
  { method: "get", path: "/v1/files/{id}", tag: "OpenAI", auth: "tenant", summary: "A file object", responses: { 200: { description: "The file object" } } },
  { method: "get", path: "/v1/files/{id}/content", tag: "OpenAI", auth: "tenant", summary: "A file's content: an input file's requests, or a batch's output or error lines", responses: { 200: { description: "JSON Lines", text: "application/jsonl" } } },
  { method: "delete", path: "/v1/files/{id}", tag: "OpenAI", auth: "tenant", summary: "Deletes a file (a batch running on it keeps its own copy)", responses: { 200: { description: "`{id, object: file, deleted: true}`" } } },
  {
    method: "post",
    path: "/v1/batches",
    tag: "OpenAI",
    auth: "tenant",
    summary: "Creates a batch of an uploaded file's requests",
    description: "Lines run as batch-class requests of the calling key: in the scenario's cheaper windows when one opens in time, within the tenant's budgets (a spent budget ends the rest as `insufficient_quota`), by the 24 h deadline (then `expired`, with what finished).",
    body: createBatchSchema,
    responses: { 200: { description: "The batch object" } },
  },
  { method: "get", path: "/v1/batches", tag: "OpenAI", auth: "tenant", summary: "The tenant's batches, newest first", query: listQuery, responses: { 200: { description: "`{object: list, data, first_id, last_id, has_more}`" } } },
  { method: "get", path: "/v1/batches/{id}", tag: "OpenAI", auth: "tenant", summary: "A batch object: status, request counts, usage, output and error files", responses: { 200: { description: "The batch object" } } },
  { method: "post", path: "/v1/batches/{id}/cancel", tag: "OpenAI", auth: "tenant", summary: "Cancels a batch: `cancelling`, then `cancelled` with what finished", responses: { 200: { description: "The batch object" } } },
);

/** The caller's batch store, once its key is verified, and who the caller is. */
async function ownStore(c: Context<AppEnv>) {
  const ctx = requestContext(c);
  const { caller, admission } = await verifiedCaller(ctx);
  return { ctx, keyId: admission.keyId, store: c.env.BATCH_STORE.getByName(caller.tenantId) as DurableObjectStub<BatchStore> };
}

function answered<T>(answer: Answer<T>): T {
  if (!answer.ok) throw new RouterError(answer.failure);
  return answer.value;
}

function page<T extends { id: string }>(list: { data: T[]; hasMore: boolean }) {
  return { object: "list", data: list.data, first_id: list.data[0]?.id ?? null, last_id: list.data.at(-1)?.id ?? null, has_more: list.hasMore };
}

const fileNotFound = (id: string) => new RouterError({ kind: "not_found", what: `File '${id}'` });
const batchNotFound = (id: string) => new RouterError({ kind: "not_found", what: `Batch '${id}'` });

/** The uploaded file's bytes and name from a multipart body, or the 400 that says what is wrong. */
async function uploadedFile(request: Request, maxFileBytes: number): Promise<{ bytes: Uint8Array; filename: string }> {
  const refuse = (message: string, param: string | null, code: "invalid_file" | "file_too_large" = "invalid_file") => new RouterError({ kind: "invalid_batch_input", code, message, param });
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data\s*;/i.test(contentType)) throw refuse("Upload the file as multipart/form-data, with the fields 'file' and 'purpose'.", null);
  let body: Uint8Array | null;
  try {
    body = await readBodyBytes(request, maxFileBytes + MULTIPART_SLACK_BYTES);
  } catch (e) {
    if (e instanceof RouterError && e.failure.kind === "body_too_large") throw refuse(`The upload exceeds the limit of ${maxFileBytes} bytes for a batch input file.`, "file", "file_too_large");
    throw e;
  }
  let form: FormData;
  try {
    form = await new Response(body, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw refuse("The multipart body could not be read.", null);
  }
  const purpose = form.get("purpose");
  if (purpose !== "batch") throw refuse("Invalid 'purpose': this router keeps files for the Batch API only, so it must be 'batch'.", "purpose");
  const file = form.get("file");
  if (file === null || typeof file === "string") throw refuse("The field 'file' must be the uploaded file.", "file");
  const filename = (file.name || "batch.jsonl").slice(0, 255);
  return { bytes: new Uint8Array(await file.arrayBuffer()), filename };
}

export const batchRoutes = new Hono<AppEnv>()
  .post("/files", async (c) => {
    const { ctx, store } = await ownStore(c);
    const { bytes, filename } = await uploadedFile(c.req.raw, ctx.config.batches.maxFileBytes);
    const lines = parseBatchFile(bytes, ctx.config.batches);
    return c.json(await store.createFile({ filename, lines }, ctx.isolate.clock.now()));
  })
  .get("/files", async (c) => {
    const { store } = await ownStore(c);
    const q = validate(listQuery, c.req.query());
    return c.json(page((await store.listFiles(q.after ?? null, q.limit)) as { data: FileObject[]; hasMore: boolean }));
  })
  .get("/files/:id", async (c) => {
    const { store } = await ownStore(c);
    const file = await store.getFile(c.req.param("id"));
    if (!file) throw fileNotFound(c.req.param("id"));
    return c.json(file);
  })
  .get("/files/:id/content", async (c) => {
    const { store } = await ownStore(c);
    const id = c.req.param("id");
    const first = await store.fileContent(id, 0, CONTENT_PAGE_BYTES);
    if (!first) throw fileNotFound(id);
    const encoder = new TextEncoder();
    let next = first.next;
    // Page by page from the store: an output file can be far larger than one call should carry.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(first.text));
        if (next === null) controller.close();
      },
      async pull(controller) {
        if (next === null) return;
        const more = await store.fileContent(id, next, CONTENT_PAGE_BYTES);
        // Deleted while being read: what was sent stands, the rest is gone.
        if (!more) return controller.close();
        controller.enqueue(encoder.encode(more.text));
        next = more.next;
        if (next === null) controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/jsonl; charset=utf-8" } });
  })
  .delete("/files/:id", async (c) => {
    const { store } = await ownStore(c);
    const id = c.req.param("id");
    if (!(await store.deleteFile(id))) throw fileNotFound(id);
    return c.json({ id, object: "file", deleted: true });
  })
  .post("/batches", async (c) => {
    const { ctx, keyId, store } = await ownStore(c);
    const { value } = await readJsonBody(c.req.raw, ctx.config.limits.maxBodyBytes);
    const body = validate(createBatchSchema, value);
    const init = { keyId, inputFileId: body.input_file_id, endpoint: body.endpoint, completionWindow: body.completion_window, metadata: body.metadata ?? null };
    return c.json(answered((await store.createBatch(init, ctx.isolate.clock.now())) as Answer<BatchObject>));
  })
  .get("/batches", async (c) => {
    const { store } = await ownStore(c);
    const q = validate(listQuery, c.req.query());
    return c.json(page((await store.listBatches(q.after ?? null, q.limit)) as { data: BatchObject[]; hasMore: boolean }));
  })
  .get("/batches/:id", async (c) => {
    const { store } = await ownStore(c);
    const batch = await store.getBatch(c.req.param("id"));
    if (!batch) throw batchNotFound(c.req.param("id"));
    return c.json(batch);
  })
  .post("/batches/:id/cancel", async (c) => {
    const { ctx, store } = await ownStore(c);
    const id = c.req.param("id");
    const answer = (await store.cancelBatch(id, ctx.isolate.clock.now())) as Answer<BatchObject> | null;
    if (!answer) throw batchNotFound(id);
    return c.json(answered(answer));
  });
