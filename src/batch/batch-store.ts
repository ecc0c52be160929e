/**
 * BatchStore: one Durable Object per tenant holding its Batch API files and batches (issue #19,
 * section 4), named by the tenant id of a key the Worker has verified: outside input never reaches
 * it, and it writes nothing before the tenant's first upload.
 *
 * Batches run on this object's alarm, one step at a time (step.ts): each step finishes what a
 * crash left (settlements not confirmed, lines begun and not done), ends what is cancelled or past
 * its deadline, asks `planBatch` whether the next lines should wait for a cheaper window, and runs
 * up to `batches.concurrency` lines at once through the router's request path (`run-line.ts`), as
 * many rounds as a step allows; then the alarm is set for whatever is due next. A line's result is
 * written before it is settled, and settlement is idempotent by the line's request id, so every
 * line is charged exactly once however often a step is cut short. Time that decides anything comes
 * in as `now` (the alarm passes the instant it was set for, or the router's clock if later), so
 * tests drive a batch through `advance(now)` at injected instants. Layout: schema.ts.
 */
import { DurableObject } from "cloudflare:workers";
import type { RouterConfig } from "../config/schema";
import { scenarioOf } from "../config/origins";
import type { RouterEnv } from "../env";
import { isolateOf } from "../isolate";
import { utf8ByteLength } from "../lib/bytes";
import type { RouterFailure } from "../openai/errors";
import { BATCH_ENDPOINTS, type BatchUrl, type InputLine } from "./input";
import { ACTIVE_STATUSES, batchObject, fileObject, newId, type BatchObject, type BatchRow, type FileObject, type FileRow } from "./objects";
import { migrate, nextSeq } from "./schema";
import { BatchStep } from "./step";

type Row = Record<string, SqlStorageValue>;

/** An answer, or the failure the Worker turns into an OpenAI error (errors do not cross RPC as data). */
export type Answer<T> = { ok: true; value: T } | { ok: false; failure: RouterFailure };

export interface BatchInit {
  keyId: string;
  inputFileId: string;
  endpoint: BatchUrl;
  completionWindow: "24h";
  metadata: Record<string, string> | null;
}

/** A page of file content: at most this many lines, and about this many bytes. */
const PAGE_LINES = 500;
const COMPLETION_WINDOW_MS = 86_400_000;

export class BatchStore extends DurableObject<RouterEnv> {
  private readonly sql: SqlStorage;
  /** Whether the schema exists: only from the tenant's first upload on. */
  private opened = false;
  /** The step under way, if one is: steps never overlap (an alarm and a test's call, say). */
  private stepping: Promise<number | null> | null = null;
  /** When the alarm is set for, mirrored: the alarm runs the step due then. */
  private alarmAt: number | null = null;
  /** Batches (and models) found to run now, and when: the look ahead is not repeated every step. */
  private readonly runSince = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: RouterEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      if (this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0) this.open();
      // A real instant; the router's clock reads the same but in benchmarks (see clock.ts).
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  private open(): void {
    if (this.opened) return;
    migrate(this.sql);
    this.opened = true;
  }

  /** The tenant this object belongs to (its name). */
  private get tenantId(): string {
    return this.ctx.id.name!;
  }

  // ── files ────────────────────────────────────────────────────────────────────────────────

  /** Stores a validated input file (see input.ts); `bytes` counts what its content returns: each line and its newline. */
  async createFile(init: { filename: string; lines: InputLine[] }, at: number): Promise<FileObject> {
    this.open();
    const id = newId("file-");
    const bytes = init.lines.reduce((sum, l) => sum + utf8ByteLength(l.text) + 1, 0);
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT INTO files (id, seq, purpose, filename, bytes, lines, created_at) VALUES (?, ?, 'batch', ?, ?, ?, ?)", id, nextSeq(this.sql, "files"), init.filename, bytes, init.lines.length, at);
      init.lines.forEach((l, idx) => this.sql.exec("INSERT INTO file_lines (file_id, idx, custom_id, url, model, text) VALUES (?, ?, ?, ?, ?, ?)", id, idx, l.customId, l.url, l.model, l.text));
    });
    return fileObject(this.fileRow(id)!);
  }

  private fileRow(id: string): FileRow | undefined {
    return this.opened ? this.sql.exec<FileRow>("SELECT * FROM files WHERE id = ?", id).toArray()[0] : undefined;
  }

  async getFile(id: string): Promise<FileObject | null> {
    const row = this.fileRow(id);
    return row ? fileObject(row) : null;
  }

  /** The tenant's files, newest first (`after`: the id the previous page ended with). */
  async listFiles(after: string | null, limit: number): Promise<{ data: FileObject[]; hasMore: boolean }> {
    return this.page<FileRow, FileObject>("files", after, limit, fileObject);
  }

  /** A page of a table's rows, newest (highest `seq`) first, after the row `after` names. */
  private page<R extends Row & { seq: number }, T>(table: "files" | "batches", after: string | null, limit: number, render: (row: R) => T): { data: T[]; hasMore: boolean } {
    if (!this.opened) return { data: [], hasMore: false };
    const from = after === null ? null : this.sql.exec<{ seq: number }>(`SELECT seq FROM ${table} WHERE id = ?`, after).toArray()[0];
    if (after !== null && !from) return { data: [], hasMore: false };
    const rows = this.sql.exec<R>(`SELECT * FROM ${table} WHERE seq < ? ORDER BY seq DESC LIMIT ?`, from ? from.seq : Number.MAX_SAFE_INTEGER, limit + 1).toArray();
    return { data: rows.slice(0, limit).map(render), hasMore: rows.length > limit };
  }

  /**
   * A page of a file's content: its lines from position `from`, each ending in a newline, about
   * `maxBytes` at most (one line more when the first alone is larger); `next` is where the next
   * page starts, null at the end. Null when there is no such file.
   */
  async fileContent(id: string, from: number, maxBytes: number): Promise<{ text: string; next: number | null } | null> {
    const file = this.fileRow(id);
    if (!file) return null;
    const rows =
      file.purpose === "batch"
        ? this.sql.exec<{ idx: number; text: string }>("SELECT idx, text FROM file_lines WHERE file_id = ? AND idx >= ? ORDER BY idx LIMIT ?", id, from, PAGE_LINES).toArray()
        : this.sql.exec<{ idx: number; text: string }>("SELECT idx, result AS text FROM batch_lines WHERE batch_id = ? AND result_kind = ? AND idx >= ? ORDER BY idx LIMIT ?", file.batch_id, file.kind, from, PAGE_LINES).toArray();
    let text = "";
    let bytes = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const size = utf8ByteLength(row.text) + 1;
      if (i > 0 && bytes + size > maxBytes) return { text, next: row.idx };
      text += `${row.text}\n`;
      bytes += size;
    }
    return { text, next: rows.length === PAGE_LINES ? rows.at(-1)!.idx + 1 : null };
  }

  /** Deletes a file; a batch running on an input file keeps its own copy of the lines. False when there is none. */
  async deleteFile(id: string): Promise<boolean> {
    if (!this.fileRow(id)) return false;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM files WHERE id = ?", id);
      this.sql.exec("DELETE FROM file_lines WHERE file_id = ?", id);
    });
    return true;
  }

  // ── batches ──────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a batch of an input file: every line must call the batch's endpoint with a model the
   * config serves there. The lines are copied, so deleting the file later changes nothing.
   */
  async createBatch(init: BatchInit, at: number): Promise<Answer<BatchObject>> {
    const file = this.fileRow(init.inputFileId);
    const invalid = (message: string, param: string | null = "input_file_id"): Answer<BatchObject> => ({ ok: false, failure: { kind: "invalid_batch_input", code: "invalid_batch", message, param } });
    if (!file) return invalid(`No file '${init.inputFileId}': upload the requests with POST /v1/files (purpose "batch") first.`);
    if (file.purpose !== "batch") return invalid(`File '${init.inputFileId}' is a batch's output, not an input file (purpose "batch").`);
    const wrongUrl = this.sql.exec<{ idx: number; url: string }>("SELECT idx, url FROM file_lines WHERE file_id = ? AND url != ? ORDER BY idx LIMIT 1", file.id, init.endpoint).toArray()[0];
    if (wrongUrl) return invalid(`Request ${wrongUrl.idx + 1} of file '${file.id}' calls ${wrongUrl.url}; every request of a batch to ${init.endpoint} must call it.`, "endpoint");
    const config = await this.liveConfig();
    const models = this.sql.exec<{ model: string }>("SELECT DISTINCT model FROM file_lines WHERE file_id = ?", file.id).toArray().map((r) => r.model);
    for (const model of models) {
      const scenario = scenarioOf(config, model);
      if (!scenario || scenario.endpoint !== BATCH_ENDPOINTS[init.endpoint]) return invalid(`File '${file.id}' asks for the model \`${model}\`, which does not exist at ${init.endpoint}.`);
    }
    const id = newId("batch_");
    this.ctx.storage.transactionSync(() => {
      const seq = nextSeq(this.sql, "batches");
      this.sql.exec(
        `INSERT INTO batches (id, seq, key_id, endpoint, input_file_id, completion_window, metadata, model, status, created_at, expires_at, total, next_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'validating', ?, ?, ?, ?)`,
        id,
        seq,
        init.keyId,
        init.endpoint,
        file.id,
        init.completionWindow,
        init.metadata === null ? null : JSON.stringify(init.metadata),
        models.length === 1 ? models[0]! : null,
        at,
        at + COMPLETION_WINDOW_MS,
        file.lines,
        at,
      );
      this.sql.exec("INSERT INTO batch_lines (batch_id, idx, custom_id, model, text) SELECT ?, idx, custom_id, model, text FROM file_lines WHERE file_id = ?", id, file.id);
    });
    await this.rearm(at);
    return { ok: true, value: batchObject(this.batchRow(id)!) };
  }

  private batchRow(id: string): BatchRow | undefined {
    return this.opened ? this.sql.exec<BatchRow>("SELECT * FROM batches WHERE id = ?", id).toArray()[0] : undefined;
  }

  async getBatch(id: string): Promise<BatchObject | null> {
    const row = this.batchRow(id);
    return row ? batchObject(row) : null;
  }

  /** The tenant's batches, newest first (`after`: the id the previous page ended with). */
  async listBatches(after: string | null, limit: number): Promise<{ data: BatchObject[]; hasMore: boolean }> {
    return this.page<BatchRow, BatchObject>("batches", after, limit, batchObject);
  }

  /**
   * Cancels a batch: `cancelling` at once, `cancelled` once the lines in flight are done (the next
   * step), with what finished in its output file and the rest in its error file as
   * `batch_cancelled`. A batch already cancelling is answered as it is; a finished one is a 409.
   */
  async cancelBatch(id: string, at: number): Promise<Answer<BatchObject> | null> {
    const row = this.batchRow(id);
    if (!row) return null;
    if (row.status === "cancelling") return { ok: true, value: batchObject(row) };
    if (!ACTIVE_STATUSES.includes(row.status) || row.status === "finalizing") {
      return { ok: false, failure: { kind: "conflict", message: `Batch '${id}' is ${row.status}; only a batch in progress can be cancelled.` } };
    }
    this.sql.exec("UPDATE batches SET status = 'cancelling', cancelling_at = ?, next_at = ? WHERE id = ?", at, at, id);
    await this.rearm(at);
    return { ok: true, value: batchObject(this.batchRow(id)!) };
  }

  /** Deletes everything (the tenant is deleted): the object is then as one never used. */
  async deleteAll(): Promise<void> {
    if (!this.opened) return;
    await this.ctx.blockConcurrencyWhile(async () => {
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.opened = false;
      this.alarmAt = null;
    });
  }

  // ── running ──────────────────────────────────────────────────────────────────────────────

  /** The alarm: the step due at the instant it was set for (or later, by the router's clock). */
  override async alarm(): Promise<void> {
    const scheduled = this.alarmAt ?? 0;
    this.alarmAt = null;
    await this.advance(Math.max(isolateOf(this.env).clock.now(), scheduled));
  }

  /**
   * Runs one step as of `now` (the router's clock) and sets the alarm for the next; returns when
   * that is (null: nothing left to do). The alarm calls it; tests call it at injected instants.
   */
  async advance(now: number): Promise<number | null> {
    if (!this.opened) return null;
    while (this.stepping) await this.stepping;
    this.stepping = this.step(now).finally(() => (this.stepping = null));
    return this.stepping;
  }

  private async liveConfig(): Promise<RouterConfig> {
    const isolate = isolateOf(this.env);
    const wait = isolate.live.ready((work) => this.ctx.waitUntil(work));
    if (wait) await wait;
    return isolate.config;
  }

  private async step(now: number): Promise<number | null> {
    const config = await this.liveConfig();
    const deps = { sql: this.sql, storage: this.ctx.storage, env: this.env, tenantId: this.tenantId, waitUntil: (p: Promise<unknown>) => this.ctx.waitUntil(p), runSince: this.runSince };
    await new BatchStep(deps, config, isolateOf(this.env), now).run();
    return this.rearm(now);
  }

  /** Sets the alarm for the soonest due batch (its next step, or its deadline); returns when, or null when none is active. */
  private async rearm(now: number): Promise<number | null> {
    const next = this.sql
      .exec<{ t: number | null }>(`SELECT MIN(MIN(next_at, expires_at)) AS t FROM batches WHERE status IN (${ACTIVE_STATUSES.map(() => "?").join(", ")})`, ...ACTIVE_STATUSES)
      .one().t;
    if (next === null) {
      if (this.alarmAt !== null) await this.ctx.storage.deleteAlarm();
      this.alarmAt = null;
      return null;
    }
    const at = Math.max(next, now);
    // Times here are the router's clock; the alarm runs on the real one (they differ only in benchmarks).
    if (this.alarmAt !== at) await this.ctx.storage.setAlarm(isolateOf(this.env).clock.realAt(at));
    this.alarmAt = at;
    return at;
  }
}

