/**
 * `/v1/batches` end to end, as the SDKs call it: a batch runs on its object's real alarm (the
 * scenarios here have no time windows, so the wall clock decides nothing), and its output and error
 * files come back in OpenAI's format, line by line, with every line charged exactly once. The 400s of
 * a batch the router refuses, listing, cancelling a finished batch, and batches visible to their
 * own tenant only.
 */
import { describe, expect, it } from "vitest";
import { adminFetch, addBudget, budgetsOf, errorOf, jsonOf, ledgerOf, newTenant, settledAll } from "../support/client";
import { call, chatLine, contentOf, finished, line, textOf, uploaded } from "./support";

const CHAT = "/v1/chat/completions";

function create(key: string, body: Record<string, unknown>) {
  return call(key, "POST", "/batches", { endpoint: CHAT, completion_window: "24h", ...body });
}

describe("a batch, end to end", () => {
  it("runs every line and writes what each answered: the output file in input order, the error file with each error's status and body", async () => {
    const { tenantId, key } = await newTenant({ allowedModels: ["chat-pool"] });
    const budget = await addBudget(tenantId, { metric: "cost", period: "total", limit: 1_000_000 });
    const lines = [
      chatLine("ok-1", "chat-pool"),
      chatLine("refused-by-origin", "chat-pool", { sim: { "*": { status: 400, message: "the origin says no" } } }),
      chatLine("not-allowed", "chat-main"),
      chatLine("ok-2", "chat-pool", { max_tokens: 3 }),
      chatLine("origin-down", "chat-pool", { sim: { "*": { status: 503 } } }),
    ];
    const file = await uploaded(key, lines);
    const res = await create(key, { input_file_id: file.id, metadata: { job: "nightly" } });
    expect(res.status).toBe(200);
    const created = await jsonOf<any>(res);
    expect(created).toMatchObject({ object: "batch", endpoint: CHAT, input_file_id: file.id, completion_window: "24h", status: "validating", model: null, metadata: { job: "nightly" }, request_counts: { total: 5, completed: 0, failed: 0 } });
    expect(created.expires_at - created.created_at).toBe(86_400);

    const batch = await finished(key, created.id);
    expect(batch).toMatchObject({ status: "completed", request_counts: { total: 5, completed: 2, failed: 3 }, error_file_id: expect.stringMatching(/^file-/), output_file_id: expect.stringMatching(/^file-/) });
    expect(batch.completed_at).toBeGreaterThanOrEqual(created.created_at);

    const rid = (i: number) => `${created.id}-${i}`;
    const output = await contentOf(key, batch.output_file_id!);
    expect(output.map((l) => [l.custom_id, l.response.status_code, l.response.request_id, l.error])).toEqual([
      ["ok-1", 200, rid(0), null],
      ["ok-2", 200, rid(3), null],
    ]);
    for (const l of output) {
      expect(l.id).toMatch(/^batch_req_[0-9a-f]{24}$/);
      expect(l.response.body).toMatchObject({ object: "chat.completion", model: "qwen2.5-7b", choices: [{ message: { role: "assistant" } }] });
    }
    expect(output[1]!.response.body.usage.completion_tokens).toBeLessThanOrEqual(3);

    const errors = await contentOf(key, batch.error_file_id!);
    expect(errors.map((l) => [l.custom_id, l.response.status_code, l.response.request_id, l.response.body.error.code])).toEqual([
      ["refused-by-origin", 400, rid(1), null],
      ["not-allowed", 404, rid(2), "model_not_found"],
      ["origin-down", 502, rid(4), "upstream_error"],
    ]);
    expect(errors[0]!.response.body.error).toMatchObject({ message: "the origin says no", type: "invalid_request_error" });
    expect(errors[2]!.response.body).toEqual({ error: { message: "Every origin for this model failed. The request can be retried.", type: "upstream_error", param: null, code: "upstream_error" } });

    // One usage row per line that reached the ledger, under the line's request id; the refused model reserved nothing.
    await settledAll(tenantId);
    const rows = (await ledgerOf(tenantId).queryUsage({ limit: 100 }))!.data;
    expect(rows.map((r) => r.requestId).sort()).toEqual([rid(0), rid(1), rid(3), rid(4)].sort());
    const row = (i: number) => rows.find((r) => r.requestId === rid(i))!;
    for (const i of [0, 3]) {
      const usage = output.find((l) => l.response.request_id === rid(i))!.response.body.usage;
      expect(row(i)).toMatchObject({ origin: "pool", status: 200, outcome: "ok", promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, costMicros: usage.completion_tokens * 2 });
    }
    expect(row(1)).toMatchObject({ status: 400, outcome: "origin_rejected", costMicros: 0 });
    expect(row(4)).toMatchObject({ status: 502, outcome: "upstream_error", costMicros: 0 });
    const spent = rows.reduce((sum, r) => sum + r.costMicros, 0);
    expect((await budgetsOf(tenantId)).find((b) => b.id === budget.id)).toMatchObject({ settled: spent, reserved: 0 });
    expect(batch.usage).toEqual({
      input_tokens: rows.reduce((s, r) => s + r.promptTokens, 0),
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: rows.reduce((s, r) => s + r.completionTokens, 0),
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: rows.reduce((s, r) => s + r.promptTokens + r.completionTokens, 0),
    });

    // The output files are the tenant's files, their size what their content is.
    const outputFile = await jsonOf<any>(call(key, "GET", `/files/${batch.output_file_id}`));
    expect(outputFile).toMatchObject({ purpose: "batch_output", filename: `${created.id}_output.jsonl` });
    expect(outputFile.bytes).toBe((await (await call(key, "GET", `/files/${batch.output_file_id}/content`)).arrayBuffer()).byteLength);
  });

  it("runs an embeddings batch", async () => {
    const { key } = await newTenant();
    const file = await uploaded(key, [line("e1", { model: "embed-main", input: "one" }, "/v1/embeddings"), line("e2", { model: "embed-main", input: ["two", "three"] }, "/v1/embeddings")]);
    const created = await jsonOf<any>(create(key, { input_file_id: file.id, endpoint: "/v1/embeddings" }));
    const batch = await finished(key, created.id);
    expect(batch).toMatchObject({ status: "completed", model: "embed-main", request_counts: { total: 2, completed: 2, failed: 0 }, error_file_id: null });
    const output = await contentOf(key, batch.output_file_id!);
    expect(output.map((l) => [l.custom_id, l.response.body.object, l.response.body.data.length])).toEqual([
      ["e1", "list", 1],
      ["e2", "list", 2],
    ]);
  });
});

describe("POST /v1/batches refuses what it cannot run", () => {
  it("answers a 400 naming the field", async () => {
    const { key } = await newTenant();
    const chatFile = await uploaded(key, [chatLine("a", "chat-pool")]);
    const unknownModel = await uploaded(key, [chatLine("a", "chat-pool"), chatLine("b", "no-such-model")]);
    const cases: Array<[Record<string, unknown>, string | null, string]> = [
      [{ input_file_id: undefined }, "input_file_id", "invalid_value"],
      [{ input_file_id: chatFile.id, endpoint: "/v1/responses" }, "endpoint", "invalid_value"],
      [{ input_file_id: chatFile.id, completion_window: "48h" }, "completion_window", "invalid_value"],
      [{ input_file_id: chatFile.id, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata", "invalid_value"],
      [{ input_file_id: chatFile.id, metadata: { ["k".repeat(65)]: "v" } }, `metadata.${"k".repeat(65)}`, "invalid_value"],
      [{ input_file_id: "file-000000000000000000000000" }, "input_file_id", "invalid_batch"],
      [{ input_file_id: chatFile.id, endpoint: "/v1/embeddings" }, "endpoint", "invalid_batch"],
      [{ input_file_id: unknownModel.id }, "input_file_id", "invalid_batch"],
    ];
    for (const [body, param, code] of cases) {
      expect(await errorOf(create(key, body)), JSON.stringify(body)).toEqual({ status: 400, code, param });
    }
    expect(await jsonOf(create(key, { input_file_id: chatFile.id, endpoint: "/v1/embeddings" }))).toMatchObject({
      error: { message: `Request 1 of file '${chatFile.id}' calls /v1/chat/completions; every request of a batch to /v1/embeddings must call it.` },
    });
    expect(await jsonOf(create(key, { input_file_id: unknownModel.id }))).toMatchObject({
      error: { message: `File '${unknownModel.id}' asks for the model \`no-such-model\`, which does not exist at /v1/chat/completions.` },
    });
    expect(await errorOf(call(key, "POST", "/batches", "{nope"))).toMatchObject({ status: 400 });
  });

  it("does not take a batch's output file as input", async () => {
    const { key } = await newTenant();
    const file = await uploaded(key, [chatLine("a", "chat-pool")]);
    const batch = await finished(key, (await jsonOf<any>(create(key, { input_file_id: file.id }))).id);
    expect(await errorOf(create(key, { input_file_id: batch.output_file_id }))).toEqual({ status: 400, code: "invalid_batch", param: "input_file_id" });
  });
});

describe("batches over the API", () => {
  it("lists the tenant's batches newest first, a page at a time; a finished batch cannot be cancelled", async () => {
    const { key } = await newTenant();
    const file = await uploaded(key, [chatLine("a", "chat-pool")]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await jsonOf<any>(create(key, { input_file_id: file.id, metadata: { n: String(i) } }))).id);
    const first = await jsonOf<any>(call(key, "GET", "/batches?limit=2"));
    expect(first).toMatchObject({ object: "list", first_id: ids[2], last_id: ids[1], has_more: true });
    expect(first.data.map((b: { metadata: unknown }) => b.metadata)).toEqual([{ n: "2" }, { n: "1" }]);
    expect(await jsonOf<any>(call(key, "GET", `/batches?after=${ids[1]}`))).toMatchObject({ data: [{ id: ids[0] }], has_more: false });
    expect((await jsonOf<any>(call(key, "GET", "/batches?limit=0"))).error.param).toBe("limit");

    const done = await finished(key, ids[0]!);
    expect(done.status).toBe("completed");
    const res = await call(key, "POST", `/batches/${ids[0]}/cancel`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: { message: `Batch '${ids[0]}' is completed; only a batch in progress can be cancelled.`, type: "invalid_request_error", param: null, code: "conflict" } });
    for (const id of ids) await finished(key, id);
  });

  it("shows a tenant's batches to that tenant only", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const file = await uploaded(a.key, [chatLine("a", "chat-pool")]);
    const batch = await jsonOf<any>(create(a.key, { input_file_id: file.id }));
    expect(await errorOf(call(b.key, "GET", `/batches/${batch.id}`))).toEqual({ status: 404, code: "not_found", param: null });
    expect(await errorOf(call(b.key, "POST", `/batches/${batch.id}/cancel`))).toEqual({ status: 404, code: "not_found", param: null });
    expect((await jsonOf<any>(call(b.key, "GET", "/batches"))).data).toEqual([]);
    // Nor can another tenant run a batch on its file.
    expect(await errorOf(create(b.key, { input_file_id: file.id }))).toEqual({ status: 400, code: "invalid_batch", param: "input_file_id" });
    const done = await finished(a.key, batch.id);
    expect(await errorOf(call(b.key, "GET", `/files/${done.output_file_id}/content`))).toEqual({ status: 404, code: "not_found", param: null });
    expect(await errorOf(call(null, "GET", `/batches/${batch.id}`))).toEqual({ status: 401, code: "missing_api_key", param: null });
  });

  it("deleting the tenant deletes its files and batches", async () => {
    const { tenantId, key } = await newTenant();
    const file = await uploaded(key, [chatLine("a", "chat-pool")]);
    const batch = await finished(key, (await jsonOf<any>(create(key, { input_file_id: file.id }))).id);
    expect((await adminFetch(`/tenants/${tenantId}`, { method: "DELETE" })).status).toBe(200);
    const { storeOf } = await import("./support");
    expect(await storeOf(tenantId).getFile(file.id)).toBeNull();
    expect(await storeOf(tenantId).getBatch(batch.id)).toBeNull();
  });

  it("a file's content is served page by page", async () => {
    const { key } = await newTenant();
    // The store hands out 500 lines a page at most: a file of 1,000 takes two pages.
    const lines = Array.from({ length: 1000 }, (_, i) => chatLine(`c${i}`, "chat-pool"));
    const file = await uploaded(key, lines);
    const text = await textOf(await call(key, "GET", `/files/${file.id}/content`));
    expect(text).toBe(lines.map((l) => `${l}\n`).join(""));
    expect(new TextEncoder().encode(text).byteLength).toBe(file.bytes);
  });
});
