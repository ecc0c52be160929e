/**
 * DecisionLog: one Durable Object per scenario keeping its recent routing decisions, for the
 * admin API (`GET /admin/scenarios/:scenario/decisions`). Isolates send a sample of them after the
 * response (every explained or shadowed request, and at most one a second per scenario otherwise),
 * so the log never sits on a request's path and never sees every request of a busy scenario. A
 * shadow copy's latency, usage and cost are added to its decision when it finishes, and the copy
 * is kept as an eval pair beside the answer the client got (`migration/evals.ts`): what a
 * migration's figures are made of.
 */
import { DurableObject } from "cloudflare:workers";
import { migrate } from "../lib/sql-migrations";
import { summarizePairs, type EvalPair, type EvalSummary } from "../migration/evals";
import type { Decision } from "../routing/decide";

/**
 * Layout, in SQLite: `meta` (`schema_version`) and `decisions`, one row per decision kept, in the
 * order they came (`seq`), with its request id (a shadow's result finds its row by it) and the
 * whole entry as JSON. Version 1 is the table as it was first created with `IF NOT EXISTS`, so a
 * log made before versions were kept migrates to it without change. Version 2 adds `evals`, one
 * row per finished shadow copy: the candidate origin, the migration stage it was made in (null
 * for a scenario's own shadow), when its request started, and the pair as JSON.
 */
const MIGRATIONS: readonly string[] = [
  "CREATE TABLE IF NOT EXISTS decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, at INTEGER NOT NULL, entry TEXT NOT NULL)",
  `CREATE TABLE evals (seq INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, stage TEXT, at INTEGER NOT NULL, pair TEXT NOT NULL);
   CREATE INDEX evals_by_origin ON evals (origin, at)`,
];

/** How many decisions a scenario keeps. */
export const DECISIONS_KEPT = 200;
/** How many eval pairs a scenario keeps: its figures are over the newest of these. */
export const EVALS_KEPT = 1_000;

/** How a shadow copy went: measured, priced, then discarded. */
export interface ShadowResult {
  origin: string;
  model: string;
  /** The origin's HTTP status, or why there was none (`timeout`, `connect_error`, ...). */
  result: string;
  latencyMs: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  /** What the copy cost at the shadow origin's prices (the operator's, never a tenant budget's). */
  costMicros: number;
}

export interface DecisionEntry {
  requestId: string;
  at: number;
  attempts: Decision["attempts"];
  shadow: Decision["shadow"];
  /** What was served: the origin that answered, or null when none did. */
  servedBy: string | null;
  explanation: Decision["explanation"];
  /** Filled in when the shadow copy has finished. */
  shadowResult?: ShadowResult;
}

/** The log reads nothing from the env. */
type LogEnv = object;

export class DecisionLog extends DurableObject<LogEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: LogEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => migrate(this.sql, MIGRATIONS));
  }

  /** Appends a decision and forgets all but the newest {@link DECISIONS_KEPT}. */
  async record(entry: DecisionEntry): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT INTO decisions (request_id, at, entry) VALUES (?, ?, ?)", entry.requestId, entry.at, JSON.stringify(entry));
      this.sql.exec("DELETE FROM decisions WHERE seq <= (SELECT MAX(seq) FROM decisions) - ?", DECISIONS_KEPT);
    });
  }

  /**
   * Adds a finished shadow copy's measurements to its decision (false when the decision is not
   * kept) and keeps its eval pair, when there is one, whether or not the decision is.
   */
  async recordShadow(requestId: string, result: ShadowResult, pair?: EvalPair): Promise<boolean> {
    return this.ctx.storage.transactionSync(() => {
      if (pair) {
        this.sql.exec("INSERT INTO evals (origin, stage, at, pair) VALUES (?, ?, ?, ?)", result.origin, pair.stage, pair.at, JSON.stringify(pair));
        this.sql.exec("DELETE FROM evals WHERE seq <= (SELECT MAX(seq) FROM evals) - ?", EVALS_KEPT);
      }
      const row = this.sql.exec<{ seq: number; entry: string }>("SELECT seq, entry FROM decisions WHERE request_id = ? ORDER BY seq DESC LIMIT 1", requestId).toArray()[0];
      if (!row) return false;
      const entry = { ...(JSON.parse(row.entry) as DecisionEntry), shadowResult: result };
      this.sql.exec("UPDATE decisions SET entry = ? WHERE seq = ?", JSON.stringify(entry), row.seq);
      return true;
    });
  }

  /** The kept pairs of copies to `origin` made in `stage` by requests started at `since` or later, summarised. */
  async evalSummary(origin: string, stage: string, since: number): Promise<EvalSummary> {
    const pairs = this.sql
      .exec<{ pair: string }>("SELECT pair FROM evals WHERE origin = ? AND stage = ? AND at >= ? ORDER BY seq", origin, stage, since)
      .toArray()
      .map((r) => JSON.parse(r.pair) as EvalPair);
    return summarizePairs(pairs);
  }

  /** The newest decisions first. */
  async recent(limit: number): Promise<DecisionEntry[]> {
    const n = Math.max(1, Math.min(DECISIONS_KEPT, Math.floor(limit)));
    return this.sql
      .exec<{ entry: string }>("SELECT entry FROM decisions ORDER BY seq DESC LIMIT ?", n)
      .toArray()
      .map((r) => JSON.parse(r.entry) as DecisionEntry);
  }
}
