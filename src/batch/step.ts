/**
 * One step of a tenant's batches (see batch-store.ts): for each batch with work left, oldest
 * first, it settles what a crash left unconfirmed, puts lines a crash cut short back in line, ends
 * what is cancelled or past its deadline, asks the plan whether to wait for a cheaper window, runs
 * rounds of lines through the request path (run-line.ts), and writes the output and error files of
 * a batch with nothing left. Each line's result is written before it is settled; settling is
 * idempotent by the line's request id (see schema.ts). The store sets the alarm for what is due next.
 */
import type { RouterConfig } from "../config/schema";
import { scenarioOrigins } from "../config/origins";
import type { RouterEnv } from "../env";
import type { Isolate } from "../isolate";
import type { TenantLedger } from "../ledger/tenant-ledger";
import type { LineAdmitResult, SettleRequest } from "../ledger/types";
import { utf8ByteLength } from "../lib/bytes";
import { describeFailure } from "../openai/errors";
import { placer } from "../request/place";
import type { SettleItem } from "../usage/settle-batcher";
import { BATCH_ENDPOINTS, type BatchUrl } from "./input";
import { ACTIVE_STATUSES, newId, notRunLine, responseLine, type BatchRow, type NotRun } from "./objects";
import { admitLine, lineRequest, readLine, runAdmitted, type AdmittedLine, type LineDeps, type LineOutcome, type LineToRun } from "./run-line";
import { planBatch, type Plan } from "./schedule";
import { nextSeq } from "./schema";

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

/** How lines end without running: with the answer that stopped the batch, or as not run. */
type Ending = { notRun: NotRun } | { statusCode: number; body: string };

/** Rounds of `batches.concurrency` lines one step may start, and the real time after which it starts no more. */
const STEP_ROUNDS = 8;
const STEP_MS = 20_000;
/**
 * A line that began this many runs and never finished (each cut short by a crash, or by the ledger
 * not answering) fails instead of running again; the waits between tries grow 4× from `RETRY_MS`,
 * so a ledger out of reach for about seven minutes fails nothing.
 */
const MAX_ATTEMPTS = 5;
/** When the ledger could not be reached: the next try. */
const RETRY_MS = 5_000;
/**
 * A line's row holds its input and its result: a Durable Object's SQLite row holds at most 2 MB, so
 * this much of it, less the input and a margin for the rest, is what its result may take.
 */
const MAX_ROW_BYTES = 1_900_000;
const ROW_MARGIN_BYTES = 8_192;
/** A plan to run now stands this long (the router's time) before the look ahead is made again. */
const PLAN_FOR_MS = 60_000;

/** A line's request id: its usage row's, the same on every run. */
export function lineRequestId(batchId: string, idx: number): string {
  return `${batchId}-${idx}`;
}

/** What a step works with: the store's storage, the Worker's env, the tenant, and what the store keeps between steps. */
export interface StepDeps {
  sql: SqlStorage;
  storage: Pick<DurableObjectStorage, "transactionSync">;
  env: RouterEnv;
  tenantId: string;
  waitUntil(promise: Promise<unknown>): void;
  /** Batches (and models) found to run now, and when: the look ahead is not made again every step. */
  runSince: Map<string, number>;
}

export class BatchStep {
  private readonly sql: SqlStorage;
  private readonly storage: StepDeps["storage"];
  private readonly env: RouterEnv;
  private readonly tenantId: string;
  private readonly waitUntil: StepDeps["waitUntil"];
  private readonly runSince: Map<string, number>;

  constructor(
    deps: StepDeps,
    private readonly config: RouterConfig,
    private readonly isolate: Isolate,
    private readonly now: number,
  ) {
    ({ sql: this.sql, storage: this.storage, env: this.env, tenantId: this.tenantId, waitUntil: this.waitUntil, runSince: this.runSince } = deps);
  }

  /** Runs the step: each batch with work left, oldest first, as far as the step's lines and time allow. */
  async run(): Promise<void> {
    const until = Date.now() + STEP_MS;
    let lines = STEP_ROUNDS * this.config.batches.concurrency;
    const active = this.sql.exec<BatchRow>(`SELECT * FROM batches WHERE status IN (${ACTIVE_STATUSES.map(() => "?").join(", ")}) ORDER BY seq`, ...ACTIVE_STATUSES).toArray();
    for (const batch of active) {
      if (lines <= 0 || Date.now() >= until) break;
      lines -= await this.stepBatch(batch, lines, until);
    }
  }

  /** One batch's part of a step; returns how many lines it started. */
  private async stepBatch(batch: BatchRow, maxLines: number, until: number): Promise<number> {
    const { now } = this;
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
      this.endPending(batch, { notRun: "batch_cancelled" });
      ending = "cancelled";
    } else if (now >= batch.expires_at) {
      this.endPending(batch, { notRun: "batch_expired" });
      ending = "expired";
    } else if (batch.next_at <= now) {
      started = await this.runLines(batch, ledger, maxLines, until);
    }
    ending ??= this.pendingCount(id) === 0 ? "completed" : null;
    if (ending === null) return started;
    if (await this.settleDone(id, ledger)) this.finalize(id, ending);
    else this.setNext(id, now + RETRY_MS, "the tenant's ledger did not answer");
    return started;
  }

  /** Runs the batch's next lines, as many rounds as the step allows, unless the plan says wait. */
  private async runLines(batch: BatchRow, ledger: Ledger, maxLines: number, until: number): Promise<number> {
    const { config, isolate } = this;
    const deps: LineDeps = { env: this.env, isolate, config, tenantId: this.tenantId, keyId: batch.key_id, ledger, waitUntil: (p) => this.waitUntil(p) };
    const plans = new Map<string, Plan>();
    let started = 0;
    while (started < maxLines && Date.now() < until) {
      // Cancelled while the last round ran (the object takes calls while it awaits): no more rounds.
      if (this.sql.exec<{ status: string }>("SELECT status FROM batches WHERE id = ?", batch.id).one().status !== "in_progress") break;
      const next = this.sql.exec<LineRow>("SELECT * FROM batch_lines WHERE batch_id = ? AND state = 'pending' ORDER BY idx LIMIT ?", batch.id, Math.min(config.batches.concurrency, maxLines - started)).toArray();
      if (next.length === 0) break;
      // One model a round: its plan is the round's.
      const model = next[0]!.model;
      const cut = next.findIndex((l) => l.model !== model);
      const round = cut < 0 ? next : next.slice(0, cut);
      if (!plans.has(model)) plans.set(model, await this.plan(deps, batch, round[0]!));
      const plan = plans.get(model)!;
      if (plan.kind === "wait") {
        this.setNext(batch.id, plan.until, plan.reason);
        break;
      }
      this.sql.exec("UPDATE batches SET wait_reason = NULL WHERE id = ?", batch.id);
      const outcomes = await this.runRound(deps, batch, round);
      started += round.length;
      const stop = outcomes.find((o): o is Extract<LineOutcome, { kind: "stop" }> => kindOf(o) === "stop");
      if (stop) {
        this.endPending(batch, { statusCode: stop.statusCode, body: stop.body });
        break;
      }
      const defers = outcomes.filter((o): o is Extract<LineOutcome, { kind: "defer" }> => kindOf(o) === "defer");
      if (defers.length > 0) {
        const at = Math.max(...defers.map((d) => d.until));
        this.setNext(batch.id, at, defers[0]!.reason);
        break;
      }
      const failedRuns = round.filter((_, i) => outcomes[i] === null);
      if (failedRuns.length > 0) {
        const attempts = Math.max(...failedRuns.map((l) => l.attempts + 1));
        this.setNext(batch.id, this.now + RETRY_MS * 4 ** (attempts - 1), "the tenant's ledger did not answer");
        break;
      }
    }
    return started;
  }

  /**
   * Runs a round of lines; the outcomes are the round's, in order. Each line is marked running (a
   * crash leaves it so); the lines are admitted one after the other, in order, up to the first
   * the ledger defers or stops (the rest go back in line: "skipped"), then the admitted ones run at
   * once, each result written, then settled. A line whose run failed for want of the ledger is left
   * running (null); one that began too many runs fails ("ended").
   */
  private async runRound(deps: LineDeps, batch: BatchRow, round: LineRow[]): Promise<RoundOutcome[]> {
    const { now } = this;
    const batchId = batch.id;
    const endpoint = batch.endpoint as BatchUrl;
    const outcomes = new Map<number, RoundOutcome>();
    this.storage.transactionSync(() => {
      for (const line of round) {
        if (line.attempts >= MAX_ATTEMPTS) {
          const { status, body } = describeFailure({ kind: "internal" });
          this.endLine(batch, line, { statusCode: status, body: JSON.stringify(body) });
          outcomes.set(line.idx, "ended");
          continue;
        }
        this.sql.exec("UPDATE batch_lines SET state = 'running', attempts = attempts + 1 WHERE batch_id = ? AND idx = ?", batchId, line.idx);
      }
    });
    // Not run after all (refused before anything was reserved, or not asked): as if never begun.
    const backInLine = (line: LineRow) => this.sql.exec("UPDATE batch_lines SET state = 'pending', attempts = attempts - 1 WHERE batch_id = ? AND idx = ?", batchId, line.idx);
    const admitted: Array<[LineRow, AdmittedLine]> = [];
    let halted = false;
    for (const line of round) {
      if (outcomes.has(line.idx)) continue;
      if (halted) {
        backInLine(line);
        outcomes.set(line.idx, "skipped");
        continue;
      }
      let answer: Awaited<ReturnType<typeof admitLine>>;
      try {
        answer = await admitLine(deps, toRun(line, endpoint), now);
      } catch (e) {
        console.error(`batch line ${lineRequestId(batchId, line.idx)}: not admitted`, e);
        outcomes.set(line.idx, null);
        continue;
      }
      if (answer.kind === "admitted") admitted.push([line, answer.admitted]);
      else if (answer.kind === "done") outcomes.set(line.idx, await this.finishLine(deps.ledger, batchId, line, answer));
      else {
        backInLine(line);
        outcomes.set(line.idx, answer);
        halted = true;
      }
    }
    await Promise.all(
      admitted.map(async ([line, a]) => {
        let outcome: LineOutcome;
        try {
          outcome = await runAdmitted(deps, a, now);
        } catch (e) {
          console.error(`batch line ${lineRequestId(batchId, line.idx)}: not run`, e);
          outcomes.set(line.idx, null);
          return;
        }
        outcomes.set(line.idx, outcome.kind === "done" ? await this.finishLine(deps.ledger, batchId, line, outcome) : outcome);
      }),
    );
    return round.map((line) => outcomes.get(line.idx)!);
  }

  /** Writes a line's result and its batch's counts, then settles it. */
  private async finishLine(ledger: Ledger, batchId: string, line: LineRow, outcome: Extract<LineOutcome, { kind: "done" }>): Promise<LineOutcome> {
    const stored = storable(outcome, line, batchId);
    this.storage.transactionSync(() => {
      this.sql.exec(
        "UPDATE batch_lines SET state = 'done', result = ?, result_kind = ?, settle = ?, settled = ? WHERE batch_id = ? AND idx = ?",
        stored.result,
        stored.resultKind,
        outcome.settle === null ? null : JSON.stringify(outcome.settle),
        outcome.settle === null ? 1 : 0,
        batchId,
        line.idx,
      );
      this.sql.exec(
        `UPDATE batches SET ${stored.resultKind === "output" ? "completed = completed + 1" : "failed = failed + 1"},
           input_tokens = input_tokens + ?, cached_tokens = cached_tokens + ?, output_tokens = output_tokens + ? WHERE id = ?`,
        outcome.usage.input,
        outcome.usage.cached,
        outcome.usage.output,
        batchId,
      );
    });
    if (outcome.settle) await this.settleLine(ledger, batchId, line.idx, outcome.settle);
    return outcome;
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
  private endPending(batch: BatchRow, how: Ending): void {
    this.storage.transactionSync(() => {
      for (const line of this.sql.exec<LineRow>("SELECT * FROM batch_lines WHERE batch_id = ? AND state != 'done' ORDER BY idx", batch.id).toArray()) this.endLine(batch, line, how);
    });
  }

  private endLine(batch: BatchRow, line: LineRow, how: Ending): void {
    const batchId = batch.id;
    const requestId = lineRequestId(batchId, line.idx);
    const result = "notRun" in how ? notRunLine(line.custom_id, how.notRun) : responseLine(line.custom_id, requestId, how.statusCode, how.body);
    const outcome = "notRun" in how ? how.notRun : `batch_stopped_${how.statusCode}`;
    const settle = line.attempts > 0 ? { request: nothingCharged(requestId, batch, line, this.now, outcome) } : null;
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
  private finalize(batchId: string, status: "completed" | "expired" | "cancelled"): void {
    const { now } = this;
    this.storage.transactionSync(() => {
      const files: Record<"output" | "error", string | null> = { output: null, error: null };
      for (const kind of ["output", "error"] as const) {
        const { n, bytes } = this.sql
          .exec<{ n: number; bytes: number | null }>("SELECT COUNT(*) AS n, SUM(LENGTH(CAST(result AS BLOB)) + 1) AS bytes FROM batch_lines WHERE batch_id = ? AND result_kind = ?", batchId, kind)
          .one();
        if (n === 0) continue;
        const fileId = newId("file-");
        this.sql.exec(
          "INSERT INTO files (id, seq, purpose, filename, bytes, lines, created_at, batch_id, kind) VALUES (?, ?, 'batch_output', ?, ?, ?, ?, ?, ?)",
          fileId,
          nextSeq(this.sql, "files"),
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
  private async plan(deps: LineDeps, batch: BatchRow, line: LineRow): Promise<Plan> {
    const { now } = this;
    const planned = `${batch.id}|${line.model}`;
    const since = this.runSince.get(planned);
    if (since !== undefined && now >= since && now < since + PLAN_FOR_MS) return { kind: "run" };
    const plan = await this.lookAhead(deps, batch, line);
    if (plan.kind === "run") this.runSince.set(planned, now);
    else this.runSince.delete(planned);
    if (this.runSince.size > 1_000) this.runSince.delete(this.runSince.keys().next().value!);
    return plan;
  }

  private async lookAhead(deps: LineDeps, batch: BatchRow, line: LineRow): Promise<Plan> {
    const { now } = this;
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
}

/** How a line of a round ended: as the run said, or not run ("ended", "skipped", null: see `runRound`). */
type RoundOutcome = LineOutcome | "ended" | "skipped" | null;

function kindOf(outcome: RoundOutcome): LineOutcome["kind"] | "ended" | "skipped" | null {
  return outcome === null || typeof outcome === "string" ? outcome : outcome.kind;
}

/**
 * A result line as it can be stored (see {@link MAX_ROW_BYTES}): an answer too large for its row (a
 * huge embeddings request) becomes an error line saying so. It ran, and is charged as it ran.
 */
function storable(outcome: Extract<LineOutcome, { kind: "done" }>, line: LineRow, batchId: string): { result: string; resultKind: "output" | "error" } {
  const size = utf8ByteLength(outcome.result);
  const room = MAX_ROW_BYTES - ROW_MARGIN_BYTES - utf8ByteLength(line.text);
  if (size <= room) return outcome;
  const error = { error: { message: `The answer is ${size} bytes; this request's line of the output may hold ${room}. Send it on its own.`, type: "invalid_request_error", param: null, code: "response_too_large" } };
  return { result: responseLine(line.custom_id, lineRequestId(batchId, line.idx), 500, JSON.stringify(error)), resultKind: "error" };
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
