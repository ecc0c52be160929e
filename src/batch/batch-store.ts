/**
 * BatchStore: one Durable Object per tenant holding its Batch API files and batches (issue #19,
 * section 4), named by the tenant id of a key the Worker has verified: outside input never reaches
 * it, and it writes nothing before the tenant's first upload.
 *
 * Batches run on this object's alarm, one step at a time: each step finishes what a crash left
 * (settlements not confirmed, lines begun and not done), ends what is cancelled or past its
 * deadline, asks `planBatch` whether the next lines should wait for a cheaper window, and runs up to
 * `batches.concurrency` lines at once through the router's request path (`run-line.ts`), as many
 * rounds as a step allows; then it sets the alarm for whatever is due next. A line's result is
 * written before it is settled, and settlement is idempotent by the line's request id, so every
 * line is charged exactly once however often a step is cut short. Time that decides anything comes
 * in as `now` (the alarm passes the instant it was set for, or the router's clock if later), so
 * tests drive a batch through `advance(now)` at injected instants. Layout: schema.ts.
 */
import { DurableObject } from "cloudflare:workers";
import type { RouterConfig } from "../config/schema";
import { scenarioOf, scenarioOrigins } from "../config/origins";
import type { RouterEnv } from "../env";
import { isolateOf, type Isolate } from "../isolate";
import type { TenantLedger } from "../ledger/tenant-ledger";
import type { LineAdmitResult, SettleRequest } from "../ledger/types";
import { utf8ByteLength } from "../lib/bytes";
import { describeFailure, type RouterFailure } from "../openai/errors";
import { placer } from "../request/place";
import type { SettleItem } from "../usage/settle-batcher";
import { BATCH_ENDPOINTS, type BatchUrl, type InputLine } from "./input";
import { ACTIVE_STATUSES, batchObject, fileObject, newId, notRunLine, responseLine, type BatchObject, type BatchRow, type FileObject, type FileRow, type NotRun } from "./objects";
import { lineRequest, readLine, runLine, type LineDeps, type LineOutcome, type LineToRun } from "./run-line";
import { planBatch, type Plan } from "./schedule";
import { migrate } from "./schema";

type Row = Record<string, SqlStorageValue>;
type Ledger = DurableObjectStub<TenantLedger>;

interface LineRow extends Row {
  batch_id: string;
  idx: number;
  custom_id: string;
  model: string;
  text: string;
  state: "pending" | "running" | "done";
  attempts: number;
  result: string | null;
  result_kind: "output" | "error" | null;
  settle: string | null;
  settled: number;
}

/** An answer, or the failure the Worker turns into an OpenAI error (errors do not cross RPC as data). */
export type Answer<T> = { ok: true; value: T } | { ok: false; failure: RouterFailure };

export interface BatchInit {
  keyId: string;
  inputFileId: string;
  endpoint: BatchUrl;
  completionWindow: "24h";
  metadata: Record<string, string> | null;
}

/** Rounds of `batches.concurrency` lines one step may start, and the real time after which it starts no more. */
const STEP_ROUNDS = 8;
const STEP_MS = 20_000;
/** A line that began this many runs and never finished (each cut short by a crash) fails instead of running again. */
const MAX_ATTEMPTS = 3;
/** When the ledger could not be reached: the next try. */
const RETRY_MS = 5_000;
/** A page of file content: at most this many lines, and about this many bytes. */
const PAGE_LINES = 500;
const COMPLETION_WINDOW_MS = 86_400_000;
/** A plan to run now stands this long (the router's time) before the look ahead is made again. */
const PLAN_FOR_MS = 60_000;

/** A line's request id: its usage row's, the same on every run. */
export function lineRequestId(batchId: string, idx: number): string {
  return `${batchId}-${idx}`;
}

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
      this.sql.exec("INSERT INTO files (id, purpose, filename, bytes, lines, created_at) VALUES (?, 'batch', ?, ?, ?, ?)", id, init.filename, bytes, init.lines.length, at);
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
    if (!this.opened) return { data: [], hasMore: false };
    const from = after === null ? null : this.fileRow(after);
    if (after !== null && !from) return { data: [], hasMore: false };
    const rows = this.sql
      .exec<FileRow>(
        from ? "SELECT * FROM files WHERE created_at < ? OR (created_at = ? AND id < ?) ORDER BY created_at DESC, id DESC LIMIT ?" : "SELECT * FROM files ORDER BY created_at DESC, id DESC LIMIT ?",
        ...(from ? [from.created_at, from.created_at, from.id, limit + 1] : [limit + 1]),
      )
      .toArray();
    return { data: rows.slice(0, limit).map(fileObject), hasMore: rows.length > limit };
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
      const seq = this.sql.exec<{ n: number }>("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM batches").one().n;
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
    if (!this.opened) return { data: [], hasMore: false };
    const from = after === null ? null : this.batchRow(after);
    if (after !== null && !from) return { data: [], hasMore: false };
    const rows = this.sql.exec<BatchRow>("SELECT * FROM batches WHERE seq < ? ORDER BY seq DESC LIMIT ?", from ? from.seq : Number.MAX_SAFE_INTEGER, limit + 1).toArray();
    return { data: rows.slice(0, limit).map(batchObject), hasMore: rows.length > limit };
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
    const isolate = isolateOf(this.env);
    const until = Date.now() + STEP_MS;
    let lines = STEP_ROUNDS * config.batches.concurrency;
    const active = this.sql.exec<BatchRow>(`SELECT * FROM batches WHERE status IN (${ACTIVE_STATUSES.map(() => "?").join(", ")}) ORDER BY seq`, ...ACTIVE_STATUSES).toArray();
    for (const batch of active) {
      if (lines <= 0 || Date.now() >= until) break;
      lines -= await this.stepBatch(batch, now, config, isolate, lines, until);
    }
    return this.rearm(now);
  }

  /** One batch's part of a step; returns how many lines it started. */
  private async stepBatch(batch: BatchRow, now: number, config: RouterConfig, isolate: Isolate, maxLines: number, until: number): Promise<number> {
    const id = batch.id;
    if (batch.status === "validating") this.sql.exec("UPDATE batches SET status = 'in_progress', in_progress_at = ? WHERE id = ?", now, id);
    // Lines a crash cut short run again (the same request id: the ledger holds their reservation).
    this.sql.exec("UPDATE batch_lines SET state = 'pending' WHERE batch_id = ? AND state = 'running'", id);
    const ledger = this.env.TENANT_LEDGER.getByName(this.tenantId);
    if (!(await this.settleDone(id, ledger))) {
      this.setNext(id, now + RETRY_MS, "the tenant's ledger did not answer");
      return 0;
    }

    let started = 0;
    let ending: "cancelled" | "expired" | "completed" | null = null;
    if (batch.status === "cancelling") {
      this.endPending(id, now, { notRun: "batch_cancelled" });
      ending = "cancelled";
    } else if (now >= batch.expires_at) {
      this.endPending(id, now, { notRun: "batch_expired" });
      ending = "expired";
    } else if (batch.next_at <= now) {
      started = await this.runLines(batch, now, config, isolate, ledger, maxLines, until);
    }
    ending ??= this.pendingCount(id) === 0 ? "completed" : null;
    if (ending === null) return started;
    if (await this.settleDone(id, ledger)) this.finalize(id, now, ending);
    else this.setNext(id, now + RETRY_MS, "the tenant's ledger did not answer");
    return started;
  }

  /** Runs the batch's next lines, as many rounds as the step allows, unless the plan says wait. */
  private async runLines(batch: BatchRow, now: number, config: RouterConfig, isolate: Isolate, ledger: Ledger, maxLines: number, until: number): Promise<number> {
    const deps: LineDeps = { env: this.env, isolate, config, tenantId: this.tenantId, keyId: batch.key_id, ledger, waitUntil: (p) => this.ctx.waitUntil(p) };
    const plans = new Map<string, Plan>();
    let started = 0;
    while (started < maxLines && Date.now() < until) {
      const next = this.sql.exec<LineRow>("SELECT * FROM batch_lines WHERE batch_id = ? AND state = 'pending' ORDER BY idx LIMIT ?", batch.id, Math.min(config.batches.concurrency, maxLines - started)).toArray();
      if (next.length === 0) break;
      // One model a round: its plan is the round's.
      const model = next[0]!.model;
      const round = next.filter((l, i) => next.slice(0, i + 1).every((m) => m.model === model));
      if (!plans.has(model)) plans.set(model, await this.plan(deps, batch, round[0]!, now));
      const plan = plans.get(model)!;
      if (plan.kind === "wait") {
        this.setNext(batch.id, plan.until, plan.reason);
        break;
      }
      this.sql.exec("UPDATE batches SET wait_reason = NULL WHERE id = ?", batch.id);
      const outcomes = await this.runRound(deps, batch, round, now);
      started += round.length;
      const stop = outcomes.find((o): o is Extract<LineOutcome, { kind: "stop" }> => o?.kind === "stop");
      if (stop) {
        this.endPending(batch.id, now, { statusCode: stop.statusCode, body: stop.body });
        break;
      }
      const defers = outcomes.filter((o): o is Extract<LineOutcome, { kind: "defer" }> => o?.kind === "defer");
      if (defers.length > 0) {
        const at = Math.max(...defers.map((d) => d.until));
        this.setNext(batch.id, at, defers[0]!.reason);
        break;
      }
      if (outcomes.includes(null)) {
        this.setNext(batch.id, now + RETRY_MS, "the tenant's ledger did not answer");
        break;
      }
    }
    return started;
  }

  /**
   * Runs a round of lines at once. Each is marked running (a crash leaves it so), run, its result
   * written, then settled; a line whose run failed for want of the ledger is left running (null).
   */
  private async runRound(deps: LineDeps, batch: BatchRow, round: LineRow[], now: number): Promise<Array<LineOutcome | null>> {
    const batchId = batch.id;
    const endpoint = batch.endpoint as BatchUrl;
    const runnable: LineRow[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const line of round) {
        if (line.attempts >= MAX_ATTEMPTS) {
          const { status, body } = describeFailure({ kind: "internal" });
          this.endLine(batchId, line, now, { statusCode: status, body: JSON.stringify(body) });
          continue;
        }
        this.sql.exec("UPDATE batch_lines SET state = 'running', attempts = attempts + 1 WHERE batch_id = ? AND idx = ?", batchId, line.idx);
        runnable.push(line);
      }
    });
    return Promise.all(
      runnable.map(async (line): Promise<LineOutcome | null> => {
        let outcome: LineOutcome;
        try {
          outcome = await runLine(deps, toRun(line, endpoint), now);
        } catch (e) {
          console.error(`batch line ${lineRequestId(batchId, line.idx)}: not run`, e);
          return null;
        }
        // Refused before anything was reserved: as if never begun.
        if (outcome.kind !== "done") {
          this.sql.exec("UPDATE batch_lines SET state = 'pending', attempts = attempts - 1 WHERE batch_id = ? AND idx = ?", batchId, line.idx);
          return outcome;
        }
        this.ctx.storage.transactionSync(() => {
          this.sql.exec(
            "UPDATE batch_lines SET state = 'done', result = ?, result_kind = ?, settle = ?, settled = ? WHERE batch_id = ? AND idx = ?",
            outcome.result,
            outcome.resultKind,
            outcome.settle === null ? null : JSON.stringify(outcome.settle),
            outcome.settle === null ? 1 : 0,
            batchId,
            line.idx,
          );
          this.sql.exec(
            `UPDATE batches SET ${outcome.resultKind === "output" ? "completed = completed + 1" : "failed = failed + 1"},
               input_tokens = input_tokens + ?, cached_tokens = cached_tokens + ?, output_tokens = output_tokens + ? WHERE id = ?`,
            outcome.usage.input,
            outcome.usage.cached,
            outcome.usage.output,
            batchId,
          );
        });
        if (outcome.settle) await this.settleLine(deps.ledger, batchId, line.idx, outcome.settle);
        return outcome;
      }),
    );
  }

  /** Settles one line in the ledger (idempotent by its request id) and notes it; false when the ledger did not answer. */
  private async settleLine(ledger: Ledger, batchId: string, idx: number, item: SettleItem): Promise<boolean> {
    try {
      await ledger.settle(item.request, item.prefix);
    } catch (e) {
      console.error(`batch line ${lineRequestId(batchId, idx)}: settlement failed (retried)`, e);
      return false;
    }
    this.sql.exec("UPDATE batch_lines SET settled = 1 WHERE batch_id = ? AND idx = ?", batchId, idx);
    return true;
  }

  /** Settles the batch's done lines the ledger has not confirmed (a crash, an unreachable ledger); true when none is left. */
  private async settleDone(batchId: string, ledger: Ledger): Promise<boolean> {
    const open = this.sql.exec<{ idx: number; settle: string }>("SELECT idx, settle FROM batch_lines WHERE batch_id = ? AND settled = 0", batchId).toArray();
    const results = await Promise.all(open.map((l) => this.settleLine(ledger, batchId, l.idx, JSON.parse(l.settle))));
    return results.every(Boolean);
  }

  /**
   * Ends every line not yet done without running it: with the answer that stopped the batch (its
   * key refused, a budget spent) or as not run (cancelled, expired). A line that began a run before
   * (a crash cut it short) may hold a reservation: it is settled at no charge, as it delivered nothing.
   */
  private endPending(batchId: string, now: number, how: { notRun: NotRun } | { statusCode: number; body: string }): void {
    this.ctx.storage.transactionSync(() => {
      for (const line of this.sql.exec<LineRow>("SELECT * FROM batch_lines WHERE batch_id = ? AND state != 'done' ORDER BY idx", batchId).toArray()) this.endLine(batchId, line, now, how);
    });
  }

  private endLine(batchId: string, line: LineRow, now: number, how: { notRun: NotRun } | { statusCode: number; body: string }): void {
    const requestId = lineRequestId(batchId, line.idx);
    const result = "notRun" in how ? notRunLine(line.custom_id, how.notRun) : responseLine(line.custom_id, requestId, how.statusCode, how.body);
    const outcome = "notRun" in how ? how.notRun : `batch_stopped_${how.statusCode}`;
    const settle = line.attempts > 0 ? { request: nothingCharged(requestId, this.batchRow(batchId)!, line, now, outcome) } : null;
    this.sql.exec(
      "UPDATE batch_lines SET state = 'done', result = ?, result_kind = 'error', settle = ?, settled = ? WHERE batch_id = ? AND idx = ?",
      result,
      settle === null ? null : JSON.stringify(settle),
      settle === null ? 1 : 0,
      batchId,
      line.idx,
    );
    this.sql.exec("UPDATE batches SET failed = failed + 1 WHERE id = ?", batchId);
  }

  private pendingCount(batchId: string): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM batch_lines WHERE batch_id = ? AND state != 'done'", batchId).one().n;
  }

  /** Writes the batch's output and error files (those that have lines) and ends it. */
  private finalize(batchId: string, now: number, status: "completed" | "expired" | "cancelled"): void {
    this.ctx.storage.transactionSync(() => {
      const files: Record<"output" | "error", string | null> = { output: null, error: null };
      for (const kind of ["output", "error"] as const) {
        const { n, bytes } = this.sql
          .exec<{ n: number; bytes: number | null }>("SELECT COUNT(*) AS n, SUM(LENGTH(CAST(result AS BLOB)) + 1) AS bytes FROM batch_lines WHERE batch_id = ? AND result_kind = ?", batchId, kind)
          .one();
        if (n === 0) continue;
        const fileId = newId("file-");
        this.sql.exec(
          "INSERT INTO files (id, purpose, filename, bytes, lines, created_at, batch_id, kind) VALUES (?, 'batch_output', ?, ?, ?, ?, ?, ?)",
          fileId,
          `${batchId}_${kind}.jsonl`,
          bytes ?? 0,
          n,
          now,
          batchId,
          kind,
        );
        files[kind] = fileId;
      }
      const stamp = status === "completed" ? "completed_at" : status === "expired" ? "expired_at" : "cancelled_at";
      this.sql.exec(
        `UPDATE batches SET status = ?, finalizing_at = ?, ${stamp} = ?, output_file_id = ?, error_file_id = ?, wait_reason = NULL WHERE id = ?`,
        status,
        now,
        now,
        files.output,
        files.error,
        batchId,
      );
    });
  }

  private setNext(batchId: string, at: number, reason: string): void {
    this.sql.exec("UPDATE batches SET next_at = ?, wait_reason = ? WHERE id = ?", at, reason, batchId);
  }

  /**
   * Whether the batch's next lines run now or wait for a cheaper window: the router's decision for
   * its next line, asked ahead (see schedule.ts), with the key's verdict (its data boundaries).
   */
  private async plan(deps: LineDeps, batch: BatchRow, line: LineRow, now: number): Promise<Plan> {
    const planned = `${batch.id}|${line.model}`;
    const since = this.runSince.get(planned);
    if (since !== undefined && now >= since && now < since + PLAN_FOR_MS) return { kind: "run" };
    const plan = await this.lookAhead(deps, batch, line, now);
    if (plan.kind === "run") this.runSince.set(planned, now);
    else this.runSince.delete(planned);
    if (this.runSince.size > 1_000) this.runSince.delete(this.runSince.keys().next().value!);
    return plan;
  }

  private async lookAhead(deps: LineDeps, batch: BatchRow, line: LineRow, now: number): Promise<Plan> {
    const toPlan = toRun(line, batch.endpoint as BatchUrl);
    const read = readLine(deps.config, toPlan);
    // A model no longer served, or a key no longer live: its lines say so when they run.
    if ("failure" in read) return { kind: "run" };
    const verdict = (await deps.ledger.admitLine({ keyId: batch.key_id, requestId: toPlan.requestId, at: now, model: null, reserve: null })) as LineAdmitResult;
    if (!verdict.ok) return { kind: "run" };
    const { ctx, admission } = lineRequest(deps, toPlan, read, verdict, null, null, now);
    // Fresh health before looking ahead (a step is not a request: the wait costs nothing).
    const refresh = deps.isolate.snapshots.getMany(scenarioOrigins(read.scenario)).refresh;
    if (refresh) await refresh;
    const placeAt = placer(ctx, admission);
    const lookAhead = placer(ctx, admission, true);
    const plan = planBatch((at) => placeAt(at).decision, (at) => lookAhead(at).decision, now, batch.expires_at - deps.config.batches.reserveMs);
    // A wait is never shorter than a second: the alarm must not spin.
    return plan.kind === "wait" ? { ...plan, until: Math.max(plan.until, now + 1_000) } : plan;
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
    if (this.alarmAt !== at) await this.ctx.storage.setAlarm(at);
    this.alarmAt = at;
    return at;
  }
}

function toRun(line: LineRow, url: BatchUrl): LineToRun {
  return { customId: line.custom_id, url, model: line.model, text: line.text, requestId: lineRequestId(line.batch_id, line.idx) };
}

/** The settlement of a line that began a run and delivered nothing: it releases what the ledger holds for it, at no charge. */
function nothingCharged(requestId: string, batch: Pick<BatchRow, "key_id" | "endpoint">, line: LineRow, now: number, outcome: string): SettleRequest {
  return {
    requestId,
    at: now,
    keyId: batch.key_id,
    endpoint: BATCH_ENDPOINTS[batch.endpoint as BatchUrl],
    scenario: line.model,
    origin: null,
    model: null,
    stream: false,
    promptTokens: 0,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    completionTokens: 0,
    costMicros: 0,
    usageSource: "origin",
    status: 0,
    outcome,
    latencyMs: 0,
  };
}
