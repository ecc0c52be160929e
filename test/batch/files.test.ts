/**
 * `/v1/files` as the SDKs call it: a multipart upload of a batch input file, its object, its
 * content, listing and deletion; the 400s of an upload the router refuses; and a tenant's files
 * visible to that tenant only.
 */
import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { errorOf, jsonOf, newTenant } from "../support/client";
import { BATCH_MAX_FILE_BYTES } from "../support/router-config";
import { call, chatLine, jsonl, line, textOf, upload, uploaded } from "./support";

const LINES = [chatLine("first", "chat-pool"), line("second", { model: "embed-main", input: "hi" }, "/v1/embeddings")];

describe("POST /v1/files", () => {
  it("stores an input file and answers its file object; its content is its requests, one a line", async () => {
    const { key } = await newTenant();
    const res = await upload(key, jsonl(LINES), { filename: "mine.jsonl" });
    expect(res.status).toBe(200);
    const file = await jsonOf<Record<string, unknown>>(res);
    const bytes = new TextEncoder().encode(jsonl(LINES)).byteLength;
    expect(file).toEqual({ id: expect.stringMatching(/^file-[0-9a-f]{24}$/), object: "file", bytes, created_at: expect.any(Number), filename: "mine.jsonl", purpose: "batch", status: "processed", expires_at: null, status_details: null });
    expect(await jsonOf(call(key, "GET", `/files/${file.id}`))).toEqual(file);
    const content = await call(key, "GET", `/files/${file.id}/content`);
    expect(content.headers.get("content-type")).toBe("application/jsonl; charset=utf-8");
    expect(await textOf(content)).toBe(jsonl(LINES));
  });

  it("lists the tenant's files newest first, a page at a time", async () => {
    const { key } = await newTenant();
    const files = [];
    for (let i = 0; i < 3; i++) {
      files.push(await uploaded(key, LINES));
      await new Promise((r) => setTimeout(r, 2));
    }
    const first = await jsonOf<any>(call(key, "GET", "/files?limit=2"));
    expect(first).toMatchObject({ object: "list", has_more: true, first_id: files[2]!.id, last_id: files[1]!.id });
    expect(first.data.map((f: { id: string }) => f.id)).toEqual([files[2]!.id, files[1]!.id]);
    const rest = await jsonOf<any>(call(key, "GET", `/files?limit=2&after=${first.last_id}`));
    expect(rest).toMatchObject({ has_more: false, data: [{ id: files[0]!.id }] });
  });

  it("deletes a file: then it is not found", async () => {
    const { key } = await newTenant();
    const file = await uploaded(key, LINES);
    expect(await jsonOf(call(key, "DELETE", `/files/${file.id}`))).toEqual({ id: file.id, object: "file", deleted: true });
    for (const [method, path] of [["GET", `/files/${file.id}`], ["GET", `/files/${file.id}/content`], ["DELETE", `/files/${file.id}`]] as const) {
      const res = await call(key, method, path);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { message: `File '${file.id}' was not found.`, type: "not_found_error", param: null, code: "not_found" } });
    }
  });

  it("refuses another purpose, a body that is not multipart, a missing file, and a file over the limit, with a 400 each", async () => {
    const { key } = await newTenant();
    expect(await errorOf(upload(key, jsonl(LINES), { purpose: "fine-tune" }))).toEqual({ status: 400, code: "invalid_file", param: "purpose" });
    expect(await errorOf(call(key, "POST", "/files", { purpose: "batch" }))).toEqual({ status: 400, code: "invalid_file", param: null });
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", "not a file");
    const { SELF } = await import("cloudflare:test");
    expect(await errorOf(SELF.fetch("http://router.test/v1/files", { method: "POST", body: form, headers: { authorization: `Bearer ${key}` } }))).toEqual({ status: 400, code: "invalid_file", param: "file" });
    // Just over the limit: the file's own check; far over it: the upload is refused while read.
    const over = `${chatLine("a", "chat-pool")}\n${" ".repeat(BATCH_MAX_FILE_BYTES)}`;
    const res = await upload(key, over);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "file_too_large", param: "file", message: `The file is ${new TextEncoder().encode(over).byteLength} bytes; a batch input file may be at most ${BATCH_MAX_FILE_BYTES} bytes.` } });
    expect(await errorOf(upload(key, "x".repeat(BATCH_MAX_FILE_BYTES * 2)))).toEqual({ status: 400, code: "file_too_large", param: "file" });
  });

  it("answers a bad line's 400 naming the line, and stores nothing", async () => {
    const { key } = await newTenant();
    const res = await upload(key, jsonl([LINES[0]!, chatLine("b", "chat-pool", { stream: true })]));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { message: "Line 2 (custom_id 'b'): a batch request cannot stream; remove 'stream'.", type: "invalid_request_error", param: "body.stream", code: "invalid_line" } });
    expect(await jsonOf(call(key, "GET", "/files"))).toEqual({ object: "list", data: [], first_id: null, last_id: null, has_more: false });
  });
});

describe("files belong to their tenant", () => {
  it("another tenant's key finds none of them, and cannot delete them", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const file = await uploaded(a.key, LINES);
    for (const [method, path] of [["GET", `/files/${file.id}`], ["GET", `/files/${file.id}/content`], ["DELETE", `/files/${file.id}`]] as const) {
      expect((await call(b.key, method, path)).status).toBe(404);
    }
    expect((await jsonOf<any>(call(b.key, "GET", "/files"))).data).toEqual([]);
    expect((await call(a.key, "GET", `/files/${file.id}`)).status).toBe(200);
  });

  it("needs a key; a made-up key is a 401 and leaves no storage behind", async () => {
    expect(await errorOf(upload(null, jsonl(LINES)))).toEqual({ status: 401, code: "missing_api_key", param: null });
    const tenant = `nobody_${crypto.randomUUID().slice(0, 8)}`;
    const forged = `tr-${tenant}-${"a".repeat(32)}-${"0".repeat(32)}`;
    expect(await errorOf(upload(forged, jsonl(LINES)))).toEqual({ status: 401, code: "invalid_api_key", param: null });
    expect((await call(forged, "GET", "/files")).status).toBe(401);
    const ids = await listDurableObjectIds(env.BATCH_STORE);
    expect(ids.some((id) => id.equals(env.BATCH_STORE.idFromName(tenant)))).toBe(false);
  });
});
