/**
 * OriginMonitor: one Durable Object per origin (`env.ORIGIN_MONITOR.getByName(origin)`), the shared
 * view of its health across isolates (DESIGN §2). Isolates never call it on a request's path: they
 * report samples in batches after responses (`HealthReporter`, through `waitUntil`) and read a
 * snapshot cached per isolate (`SnapshotCache`), refreshed in the background.
 *
 * Each RPC's storage work is one synchronous critical section (`transactionSync`). Time comes from
 * the caller (`at`); nothing here reads the clock, so there is no alarm either: the one timed
 * transition (open → half_open) is dated at `openUntil` whenever it is noticed (see `circuit.ts`).
 */
import { DurableObject } from "cloudflare:workers";
import { formatPath } from "../lib/zod-path";
import { advanceCircuit, HISTORY_LIMIT, type CircuitTransition } from "./circuit";
import { addOutcome, afterBatch, applySample, countsOf, initialMonitorState, inTimeOrder, NO_OUTCOMES, snapshotOf, type MonitorState } from "./monitor-state";
import { reportFastPath, type ParsedHealthReport } from "./report-fast-path";
import { migrate } from "./schema";
import { healthReportSchema, type CanaryStop, type HealthReport, type OriginSnapshot, type OutcomeCounts, type ReportResult } from "./types";

const OUTCOME_KEYS = Object.keys(NO_OUTCOMES) as Array<keyof OutcomeCounts>;

/** An isolate's in-flight count counts for this long after its report. */
export const IN_FLIGHT_TTL_MS = 30_000;
/** Batch ids are remembered this long: far longer than any retry. */
const BATCH_ID_TTL_MS = 3_600_000;

/** The monitor reads nothing from the env: settings arrive with the reports. */
type MonitorEnv = object;

/** A report zod accepts, as zod returns it; throws, saying what is wrong, on one it refuses. */
function parsedReport(input: unknown): ParsedHealthReport {
  const parsed = healthReportSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${formatPath(i.path) || "(root)"}: ${i.message}`);
  throw new TypeError(`invalid health report: ${problems.join("; ")}`);
}

export class OriginMonitor extends DurableObject<MonitorEnv> {
  private readonly sql: SqlStorage;
  /** The stored state, kept in memory: only this object's methods change it. */
  private state!: MonitorState;

  constructor(ctx: DurableObjectState, env: MonitorEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql);
      const row = this.sql.exec<{ state: string }>("SELECT state FROM monitor WHERE id = 1").toArray()[0];
      this.state = row ? (JSON.parse(row.state) as MonitorState) : initialMonitorState(ctx.id.name ?? "");
    });
  }

  private save(): void {
    this.sql.exec(
      "INSERT INTO monitor (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state",
      JSON.stringify(this.state),
    );
  }

  /**
   * Applies a batch of samples from one isolate, in the order their attempts started, and records
   * the isolate's in-flight count. A batch id seen before (a retry) changes nothing. The answer may
   * ask the isolate for a probe (`probe`): this object never fetches anything itself.
   * Throws on a malformed batch or one addressed to another origin.
   */
  async report(input: HealthReport): Promise<ReportResult> {
    const batch = reportFastPath(input) ?? parsedReport(input);
    const name = this.ctx.id.name;
    if (name !== undefined && name !== batch.origin) throw new Error(`monitor of ${name} cannot take samples of ${batch.origin}`);
    return this.ctx.storage.transactionSync(() => {
      const seen = this.sql.exec("SELECT 1 FROM batches WHERE id = ?", batch.batchId).toArray().length > 0;
      if (seen) return { applied: 0, duplicate: true, probe: false };
      this.sql.exec("INSERT INTO batches (id, at) VALUES (?, ?)", batch.batchId, batch.at);
      this.sql.exec("DELETE FROM batches WHERE at < ?", batch.at - BATCH_ID_TTL_MS);
      // A late batch from an isolate does not overwrite the newer count it already sent.
      this.sql.exec(
        `INSERT INTO isolates (id, in_flight, reported_at) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET in_flight = excluded.in_flight, reported_at = excluded.reported_at
         WHERE excluded.reported_at >= isolates.reported_at`,
        batch.isolateId,
        batch.inFlight,
        batch.at,
      );
      this.sql.exec("DELETE FROM isolates WHERE reported_at < ?", batch.at - IN_FLIGHT_TTL_MS);

      let state: MonitorState = { ...this.state, origin: name ?? batch.origin, options: batch.options ?? this.state.options };
      const attributedBefore = state.attributed?.count ?? 0;
      for (const sample of inTimeOrder(batch.samples)) state = applySample(state, sample);
      const after = afterBatch(state, attributedBefore, batch.at);
      this.state = { ...after.state, updatedAt: Math.max(state.updatedAt ?? 0, batch.at) };
      this.save();
      return { applied: batch.samples.length, duplicate: false, probe: after.probe };
    });
  }

  /** The origin's health as of `at`: what isolates cache and the router scores. */
  async snapshot(at: number): Promise<OriginSnapshot> {
    if (!Number.isFinite(at)) throw new TypeError("snapshot: `at` must be an instant in epoch ms");
    return this.ctx.storage.transactionSync(() => {
      const circuit = advanceCircuit(this.state.circuit, at);
      if (circuit !== this.state.circuit) {
        this.state = { ...this.state, circuit };
        this.save();
      }
      const inFlight = this.sql
        .exec<{ n: number }>("SELECT COALESCE(SUM(in_flight), 0) AS n FROM isolates WHERE reported_at >= ?", at - IN_FLIGHT_TTL_MS)
        .one().n;
      return snapshotOf(this.state, at, inFlight);
    });
  }

  /**
   * Records that a scenario's canary on this origin was stopped (by hand, or by criteria that do
   * not depend on its start). The first stop stands (a repeated call keeps its time and reason)
   * until the canary is resumed or started again.
   */
  async stopCanary(scenario: string, reason: string, at: number): Promise<CanaryStop> {
    const existing = this.state.canaryStops?.[scenario];
    if (existing) return existing;
    const stop = { at, reason: reason.slice(0, 500) };
    this.state = { ...this.state, canaryStops: { ...this.state.canaryStops, [scenario]: stop } };
    this.save();
    return stop;
  }

  /**
   * Records a stop whose reason was judged on the counts since the canary's start at `startedAt`
   * (null: no start recorded): refused (null) when the canary has started or resumed since, as
   * an isolate that has not seen the new start yet judged counts the start has set aside.
   */
  async tripCanary(scenario: string, reason: string, at: number, startedAt: number | null): Promise<CanaryStop | null> {
    const existing = this.state.canaryStops?.[scenario];
    if (existing) return existing;
    if ((this.state.canaryStarts?.[scenario]?.at ?? null) !== startedAt) return null;
    return this.stopCanary(scenario, reason, at);
  }

  /**
   * Moves a scenario's feedback counts by one feedback: `previous` is the verdict it replaced
   * (null: the answer was unrated), `accepted` the new one. Told by the feedback route after the
   * tenant's ledger recorded it (the ledger is the exact record; these counts are its health view).
   */
  async countFeedback(scenario: string, previous: boolean | null, accepted: boolean): Promise<void> {
    if (typeof scenario !== "string" || scenario.length === 0 || scenario.length > 64) throw new TypeError("countFeedback: a scenario name");
    if (previous === accepted) return;
    const delta = { accepted: (accepted ? 1 : 0) - (previous === true ? 1 : 0), rejected: (accepted ? 0 : 1) - (previous === false ? 1 : 0) };
    this.state = { ...this.state, outcomes: addOutcome(this.state.outcomes, scenario, delta) };
    this.save();
  }

  /**
   * Starts a scenario's canary on this origin (a move into `canary`): any stop left from an earlier
   * one is cleared, and its acceptance will count only the answers judged from now on, this
   * origin's and the `baseline`'s (the counts its origins hold now, summed). True when a stop was cleared.
   */
  async startCanary(scenario: string, baseline: OutcomeCounts, at: number): Promise<boolean> {
    if (!OUTCOME_KEYS.every((k) => Number.isSafeInteger(baseline?.[k]))) throw new TypeError("startCanary: the baseline's outcome counts");
    if (!Number.isFinite(at)) throw new TypeError("startCanary: `at` must be an instant in epoch ms");
    const stops = { ...this.state.canaryStops };
    const cleared = Object.hasOwn(stops, scenario);
    delete stops[scenario];
    const canary = countsOf(this.state.outcomes?.[scenario] ?? NO_OUTCOMES);
    const start = { at, canary, baseline: countsOf(baseline) };
    this.state = { ...this.state, canaryStops: stops, canaryStarts: { ...this.state.canaryStarts, [scenario]: start } };
    this.save();
    return cleared;
  }

  /** Lets a stopped canary serve again, counting its acceptance from now (as `startCanary`); false, and nothing changed, when it was not stopped. */
  async resumeCanary(scenario: string, baseline: OutcomeCounts, at: number): Promise<boolean> {
    if (!this.state.canaryStops?.[scenario]) return false;
    return this.startCanary(scenario, baseline, at);
  }

  /** The circuit's last transitions, newest first (at most 50). */
  async transitions(limit: number = HISTORY_LIMIT): Promise<CircuitTransition[]> {
    const n = Math.max(0, Math.min(HISTORY_LIMIT, Math.floor(limit)));
    return [...this.state.circuit.history].reverse().slice(0, n);
  }
}
