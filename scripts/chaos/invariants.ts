/**
 * What must hold after a router was killed under load and its reservations have expired
 * (DESIGN §3: budgets cannot be overspent; a reservation never settled is charged in full by the
 * alarm; settlement is exactly once per request id). Pure: the client's record and the ledger's
 * books in, named verdicts out.
 */
import type { BudgetState, UsageRow } from "./books";
import type { Outcome } from "./load";

export interface Verdict {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Books {
  rows: UsageRow[];
  /** The budget once every reservation is gone. */
  budget: BudgetState;
  /** The highest settled + reserved sampled during the run. */
  peakUsed: number;
}

/** Ids the client received with a 200: each was admitted, so each must end with a usage row. */
function answered200(outcomes: Outcome[]): string[] {
  return outcomes.filter((o) => o.status === 200 && o.requestId !== null).map((o) => o.requestId!);
}

export function verdicts(outcomes: Outcome[], books: Books): Verdict[] {
  const { rows, budget, peakUsed } = books;
  const rowIds = new Set(rows.map((r) => r.requestId));
  const seenIds = new Set(outcomes.flatMap((o) => (o.requestId ? [o.requestId] : [])));
  const missing = answered200(outcomes).filter((id) => !rowIds.has(id));
  const duplicated = rows.length - rowIds.size;
  // Rows for requests whose answer never reached the client: at most one per "lost" request.
  const unseen = rows.filter((r) => !seenIds.has(r.requestId)).length;
  const lost = outcomes.filter((o) => o.fate === "lost").length;
  const costSum = rows.reduce((sum, r) => sum + r.costMicros, 0);
  return [
    { name: "every 200 has a usage row", ok: missing.length === 0, detail: missing.length === 0 ? `${answered200(outcomes).length} of ${answered200(outcomes).length}` : `missing: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""} (${missing.length})` },
    { name: "no usage row is duplicated", ok: duplicated === 0, detail: `${rows.length} rows, ${rowIds.size} request ids` },
    { name: "no row for a request never sent", ok: unseen <= lost, detail: `${unseen} rows for requests whose answer was lost (${lost} lost)` },
    { name: "no reservation left open", ok: budget.reserved === 0, detail: `reserved ${budget.reserved} µ$` },
    { name: "settled + reserved never above the limit", ok: peakUsed <= budget.limit && budget.settled <= budget.limit, detail: `peak sampled ${peakUsed} µ$, settled ${budget.settled} µ$, limit ${budget.limit} µ$` },
    { name: "usage log's cost = budget's settled", ok: costSum === budget.settled, detail: `${costSum} µ$ vs ${budget.settled} µ$` },
  ];
}

/**
 * The checks can fail: each corruption of the real books that one check exists for must make that
 * check fail. Returns the corruptions that went unnoticed (none, or a check is toothless).
 */
export function uncaughtCorruptions(outcomes: Outcome[], books: Books): string[] {
  const first200 = answered200(outcomes)[0];
  const row = books.rows[0];
  const corruptions: Array<[string, string, Books]> = [];
  if (first200 !== undefined) corruptions.push(["a 200's row dropped", "every 200 has a usage row", { ...books, rows: books.rows.filter((r) => r.requestId !== first200) }]);
  if (row) {
    corruptions.push(["a row written twice", "no usage row is duplicated", { ...books, rows: [...books.rows, row] }]);
    corruptions.push(["a row off by 1 µ$", "usage log's cost = budget's settled", { ...books, rows: [{ ...row, costMicros: row.costMicros + 1 }, ...books.rows.slice(1)] }]);
  }
  corruptions.push(["rows for requests nobody sent", "no row for a request never sent", { ...books, rows: [...books.rows, ...Array.from({ length: outcomes.length + 1 }, (_, i) => ({ requestId: `phantom_${i}`, costMicros: 0, status: 0, outcome: "expired" }))] }]);
  corruptions.push(["a reservation left open", "no reservation left open", { ...books, budget: { ...books.budget, reserved: 1 } }]);
  corruptions.push(["1 µ$ over the limit", "settled + reserved never above the limit", { ...books, peakUsed: books.budget.limit + 1 }]);
  return corruptions.filter(([, check, corrupted]) => verdicts(outcomes, corrupted).find((v) => v.name === check)?.ok !== false).map(([name]) => name);
}
