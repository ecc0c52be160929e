/**
 * A tenant's budgets: their rows in `budgets` and `budget_usage`, the current state of each in
 * the period that contains a given time (in the tenant's zone), what an admission charges them and
 * what releasing a reservation gives back. The decision itself is admission.ts's; this book only
 * reads and writes, and every method is synchronous, so the ledger can call it inside its critical
 * sections.
 *
 * The memory mirrors are written through on admission and release, or dropped when rows change
 * any other way: SQLite stays the truth, a restart rebuilds them.
 */
import { randomHex } from "../auth/api-key";
import { periodEnd, periodKey } from "../time/period";
import type { BudgetState } from "./admission";
import type { Budget, BudgetMetric, BudgetPeriod, BudgetStatus } from "./types";

type Row = Record<string, SqlStorageValue>;

interface BudgetRow extends Row {
  id: string;
  key_id: string | null;
  metric: string;
  period: string;
  hard_limit: number;
  soft_limit: number | null;
}

export interface BudgetInit {
  keyId: string | null;
  metric: BudgetMetric;
  period: BudgetPeriod;
  limit: number;
  softLimit: number | null;
}

/** A budget's state in one period. */
export type PeriodState = BudgetState & { periodKey: string };

/** A budget row a reservation holds, and how much of it. */
export interface Charge {
  budgetId: string;
  periodKey: string;
  metric: BudgetMetric;
  amount: number;
}

/**
 * Releases of several requests summed per budget period, for one write each ({@link BudgetBook.releaseAll}).
 * The same as releasing each in turn: a release never lowers settled + reserved (it releases at
 * most what it settles), so the peak after them all is their sum's.
 */
export class Releases {
  readonly moves = new Map<string, { budgetId: string; periodKey: string; released: number; settled: number }>();

  /** Adds a release of `charges`, at `actual` per metric. */
  add(charges: readonly Charge[], actual: Record<BudgetMetric, number>): void {
    for (const c of charges) {
      const key = `${c.budgetId}|${c.periodKey}`;
      const move = this.moves.get(key);
      if (move) {
        move.released += c.amount;
        move.settled += actual[c.metric];
      } else this.moves.set(key, { budgetId: c.budgetId, periodKey: c.periodKey, released: c.amount, settled: actual[c.metric] });
    }
  }
}

function budgetOf(row: BudgetRow): Budget {
  return {
    id: row.id,
    keyId: row.key_id,
    metric: row.metric as BudgetMetric,
    period: row.period as BudgetPeriod,
    limit: row.hard_limit,
    softLimit: row.soft_limit,
  };
}

/** The budgets of one tenant. */
export class BudgetBook {
  private budgetCache: Budget[] | null = null;
  private readonly budgetUsageCache = new Map<string, { settled: number; reserved: number }>();
  /** The current period keys, valid for [from, until). */
  private readonly periodCache = new Map<BudgetPeriod, { key: string; from: number; until: number }>();
  private timeZone = "UTC";

  constructor(private readonly sql: SqlStorage) {}

  /**
   * The tenant's zone, whose midnights start days and months. Forgets the cached periods, which
   * were cut in the zone before: call whenever the tenant row is (re)loaded.
   */
  useTimeZone(timeZone: string): void {
    this.periodCache.clear();
    this.timeZone = timeZone;
  }

  /** Every budget, or those that bind one key (the tenant's and its own). */
  list(keyId?: string): Budget[] {
    this.budgetCache ??= this.sql.exec<BudgetRow>("SELECT * FROM budgets ORDER BY created_at, id").toArray().map(budgetOf);
    return keyId === undefined ? this.budgetCache : this.budgetCache.filter((b) => b.keyId === null || b.keyId === keyId);
  }

  /** Budgets or their usage rows changed outside admission and settlement: read them again. */
  private budgetsChanged(): void {
    this.budgetCache = null;
    this.budgetUsageCache.clear();
  }

  /** The period containing `at`, in the tenant's zone; computed once per period. */
  private currentPeriod(period: BudgetPeriod, at: number): { key: string; from: number; until: number } {
    const cached = this.periodCache.get(period);
    if (cached && at >= cached.from && at < cached.until) return cached;
    const fresh = { key: periodKey(period, at, this.timeZone), from: at, until: periodEnd(period, at, this.timeZone) ?? Infinity };
    this.periodCache.set(period, fresh);
    return fresh;
  }

  /** The key of the period containing `at`, in the tenant's zone. */
  periodOf(period: BudgetPeriod, at: number): string {
    return this.currentPeriod(period, at).key;
  }

  /** A budget's settled and reserved amounts in the period that contains `at`. */
  budgetState(budget: Budget, at: number): PeriodState {
    const key = this.periodOf(budget.period, at);
    const cacheKey = `${budget.id}|${key}`;
    let usage = this.budgetUsageCache.get(cacheKey);
    if (!usage) {
      const row = this.sql.exec<Row>("SELECT settled, reserved FROM budget_usage WHERE budget_id = ? AND period_key = ?", budget.id, key).toArray()[0];
      usage = { settled: (row?.settled as number) ?? 0, reserved: (row?.reserved as number) ?? 0 };
      this.budgetUsageCache.set(cacheKey, usage);
    }
    return { budget, periodKey: key, settled: usage.settled, reserved: usage.reserved };
  }

  budgetStatus(state: PeriodState, at: number): BudgetStatus {
    const { budget, settled, reserved } = state;
    return {
      ...budget,
      periodKey: state.periodKey,
      // From the period cache: `periodEnd` costs several Intl calls, and admission reports it every time.
      resetsAt: budget.period === "total" ? null : this.currentPeriod(budget.period, at).until,
      settled,
      reserved,
      remaining: Math.max(0, budget.limit - settled - reserved),
      softLimitReached: budget.softLimit !== null && settled + reserved >= budget.softLimit,
    };
  }

  /**
   * Reserves an admitted request's worst case against each budget in `states` (the ones its
   * admission was decided on); returns the charges its reservation holds until released.
   */
  charge(states: readonly PeriodState[], worst: { costMicros: number; tokens: number }): Charge[] {
    const charges: Charge[] = states.map((s) => ({
      budgetId: s.budget.id,
      periodKey: s.periodKey,
      metric: s.budget.metric,
      amount: s.budget.metric === "cost" ? worst.costMicros : worst.tokens,
    }));
    for (const c of charges) {
      const cached = this.budgetUsageCache.get(`${c.budgetId}|${c.periodKey}`);
      if (cached) cached.reserved += c.amount;
      this.sql.exec(
        `INSERT INTO budget_usage (budget_id, period_key, settled, reserved, peak) VALUES (?, ?, 0, ?, ?)
         ON CONFLICT (budget_id, period_key) DO UPDATE SET reserved = reserved + excluded.reserved,
           peak = MAX(peak, settled + reserved + excluded.reserved)`,
        c.budgetId,
        c.periodKey,
        c.amount,
        c.amount,
      );
    }
    return charges;
  }

  /** Moves a reservation's charges from reserved to settled, at `actual` per metric. */
  release(charges: readonly Charge[], actual: Record<BudgetMetric, number>): void {
    for (const c of charges) this.move(c.budgetId, c.periodKey, c.amount, actual[c.metric]);
  }

  /** Applies the moves a {@link Releases} summed, one write per budget period. */
  releaseAll(releases: Releases): void {
    for (const m of releases.moves.values()) this.move(m.budgetId, m.periodKey, m.released, m.settled);
  }

  /**
   * Takes `released` off a budget period's reserved amount and adds `settled` to its settled one.
   * The period may have no row yet: a budget made while a lease was out holds nothing for it, and
   * what the lease served is settled into a row made here (an UPDATE alone would lose it). A
   * budget deleted since its charge was made is left alone (its rows went with it).
   */
  private move(budgetId: string, periodKey: string, released: number, settled: number): void {
    if (!this.list().some((b) => b.id === budgetId)) return;
    const cached = this.budgetUsageCache.get(`${budgetId}|${periodKey}`);
    if (cached) {
      cached.reserved -= released;
      cached.settled += settled;
    }
    this.sql.exec(
      `INSERT INTO budget_usage (budget_id, period_key, settled, reserved, peak) VALUES (?1, ?2, ?3, ?4, MAX(0, ?3 + ?4))
       ON CONFLICT (budget_id, period_key) DO UPDATE SET reserved = reserved + excluded.reserved, settled = settled + excluded.settled,
         peak = MAX(peak, settled + excluded.settled + reserved + excluded.reserved)`,
      budgetId,
      periodKey,
      settled,
      -released,
    );
  }

  /** Every budget (or those that apply to one key) with its current period's state. */
  statuses(at: number, keyId?: string): BudgetStatus[] {
    return this.list(keyId).map((budget) => this.budgetStatus(this.budgetState(budget, at), at));
  }

  /** One budget with its current period's state, or null. */
  private statusOf(id: string, at: number): BudgetStatus | null {
    return this.statuses(at).find((b) => b.id === id) ?? null;
  }

  /** Adds a budget (the caller has checked that its key exists). */
  create(init: BudgetInit, at: number): BudgetStatus | null {
    const id = `bud_${randomHex(8)}`;
    this.budgetsChanged();
    this.sql.exec(
      "INSERT INTO budgets (id, key_id, metric, period, hard_limit, soft_limit, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      id,
      init.keyId,
      init.metric,
      init.period,
      init.limit,
      init.softLimit,
      at,
    );
    return this.statusOf(id, at);
  }

  /** Changes a budget's limits; what was spent stays. */
  update(id: string, limits: { limit: number; softLimit: number | null }, at: number): BudgetStatus | null {
    const changed = this.sql.exec("UPDATE budgets SET hard_limit = ?, soft_limit = ? WHERE id = ?", limits.limit, limits.softLimit, id).rowsWritten;
    this.budgetsChanged();
    if (changed === 0) return null;
    return this.statusOf(id, at);
  }

  /** Deletes a budget and its usage rows; the caller runs it in one transaction. */
  delete(id: string): boolean {
    this.budgetsChanged();
    const deleted = this.sql.exec("DELETE FROM budgets WHERE id = ?", id).rowsWritten > 0;
    this.sql.exec("DELETE FROM budget_usage WHERE budget_id = ?", id);
    return deleted;
  }

  /**
   * Starts the current period of a budget afresh: what was settled in it is forgotten (the usage
   * log keeps it); open reservations still hold their share.
   */
  reset(id: string, at: number): BudgetStatus | null {
    const row = this.sql.exec<BudgetRow>("SELECT * FROM budgets WHERE id = ?", id).toArray()[0];
    if (!row) return null;
    const key = this.periodOf(row.period as BudgetPeriod, at);
    this.sql.exec("UPDATE budget_usage SET settled = 0, peak = reserved WHERE budget_id = ? AND period_key = ?", id, key);
    this.budgetsChanged();
    return this.statusOf(id, at);
  }
}
