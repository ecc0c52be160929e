/**
 * Several isolates holding leases from one real TenantLedger (issue #14): each a `LeaseHolder` with
 * its own memory, all on one injected clock that the test moves. Instants lie ahead of the real
 * clock (test/support/clock.ts), so only `runDurableObjectAlarm` decides when anything expires.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { LeaseHolder, type LeaseTicket } from "../../src/lease/holder";
import type { LedgerCalls } from "../../src/lease/ledger-client";
import type { PrefixMatch } from "../../src/affinity/prefix-index";
import type { AdmitResult, LeaseGrant, LeaseResult, ReservationRequest, SettleRequest } from "../../src/ledger/types";
import { ledgerOf } from "../support/client";
import { nextUtc } from "../support/clock";

export const LEASE_MS = 1_000;
export const HOLD_MS = 60_000;

/** One clock for every holder; `sleep` resolves when the test moves the clock past its end. */
export class TestClock {
  at = nextUtc({ hour: 12 });
  private waiting: Array<{ due: number; resolve: () => void }> = [];

  readonly now = () => this.at;

  readonly sleep = (ms: number) =>
    ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => this.waiting.push({ due: this.at + ms, resolve }));

  /** Moves the clock, wakes what was due, and lets the woken work start. */
  async advance(ms: number): Promise<void> {
    this.at += ms;
    const due = this.waiting.filter((w) => w.due <= this.at);
    this.waiting = this.waiting.filter((w) => w.due > this.at);
    for (const w of due) w.resolve();
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** A tenant's ledger stub as the request path's client (uncounted). */
export function ledgerCalls(tenantId: string): LedgerCalls {
  const stub = ledgerOf(tenantId);
  return {
    admit: (r) => stub.admit(r) as Promise<AdmitResult>,
    acquireLease: (r) => stub.acquireLease(r) as Promise<LeaseResult>,
    reportLease: (r) => stub.reportLease(r),
    settleMany: (items) => stub.settleMany(items),
    lookupPrefix: (l, at) => stub.lookupPrefix(l, at) as Promise<Record<string, PrefixMatch>>,
  };
}

/** A chat request's worst case, as admission computes it, at chat-pool-like prices. */
export function reservation(promptTokensUpper: number, cap: number, outputPriceMicros = 2_000_000): ReservationRequest {
  return {
    endpoint: "chat",
    scenario: "s",
    stream: false,
    promptTokensUpper,
    requestedOutputCap: cap,
    choices: 1,
    defaultOutputCap: 64,
    minOutputTokens: 1,
    prices: { input: 1_000_000, cachedInput: 1_000_000, cacheWrite: 1_000_000, output: outputPriceMicros },
    holdMs: HOLD_MS,
  };
}

/** A request admitted by a simulated isolate: under its lease, or by the ledger itself. */
export type Admitted = { id: string; keyId: string; reserve: ReservationRequest; costMicros: number; tokens: number } & ({ via: "lease"; ticket: LeaseTicket } | { via: "ledger" });

/**
 * One isolate: a lease holder admitting as the Worker does (its lease first, else the ledger, which
 * grants the next lease). It can crash: from then on it sends nothing and wakes for nothing (its
 * timers and the answers it was waiting for are lost with it), as a dead isolate would.
 */
export class Isolate {
  readonly holder: LeaseHolder;
  /** Its ledger, as it calls it: cut when it crashes. */
  readonly ledger: LedgerCalls;
  private n = 0;
  private dead = false;
  /** Its calls to the ledger not yet answered. */
  private readonly sent = new Set<Promise<unknown>>();

  /**
   * `roundTripMs`: the ledger's round trip this isolate notes for each exact admission, in place of
   * what the test's clock shows (the clock stands still while the ledger answers): a distant ledger,
   * for which leases are renewed early.
   */
  constructor(
    readonly name: string,
    readonly clock: TestClock,
    ledger: LedgerCalls,
    private readonly roundTripMs?: number,
    /** How long its settled rows wait to be reported together (the Worker's is 200 ms; 0 here unless a test needs them to wait). */
    reportDelayMs = 0,
  ) {
    const call = <T>(send: () => Promise<T>): Promise<T> => {
      if (this.dead) return new Promise<T>(() => {});
      const answer = send();
      this.sent.add(answer);
      const forget = () => this.sent.delete(answer);
      answer.then(forget, forget);
      // An answer arriving after the crash finds nobody to take it.
      return answer.then((a) => (this.dead ? new Promise<T>(() => {}) : a));
    };
    this.ledger = {
      admit: (r) => call(() => ledger.admit(r)),
      acquireLease: (r) => call(() => ledger.acquireLease(r)),
      reportLease: (r) => call(() => ledger.reportLease(r)),
      settleMany: (items) => call(() => ledger.settleMany(items)),
      lookupPrefix: (l, at) => call(() => ledger.lookupPrefix(l, at)),
    };
    const sleep = (ms: number) => clock.sleep(ms).then(() => (this.dead ? new Promise<void>(() => {}) : undefined));
    this.holder = new LeaseHolder({ holder: name, now: clock.now, sleep, leaseMs: LEASE_MS, holdMs: HOLD_MS, reportDelayMs });
  }

  /** The isolate dies: what it sent before still reaches the ledger; nothing after, and no answer reaches it. */
  crash(): void {
    this.dead = true;
  }

  /** Admits a request as `admit.ts` does; a refusal's reason, or what it took. */
  async admit(key: string, reserve: ReservationRequest): Promise<Admitted | { refused: string }> {
    const at = this.clock.now();
    const id = `${this.name}-${this.n++}`;
    const local = this.holder.admit(key, "s", reserve, at);
    if (local.kind === "model_not_allowed") return { refused: "model_not_allowed" };
    if (local.kind === "admitted") {
      this.holder.renew(key, at);
      this.holder.drain();
      return { id, keyId: local.admission.keyId, reserve, costMicros: local.ticket.costMicros, tokens: local.ticket.tokens, via: "lease", ticket: local.ticket };
    }
    const want = this.holder.wantWithAdmission(key, reserve, at);
    const result = await this.ledger.admit({ key, requestId: id, at, model: "s", reserve, ...(want ? { lease: want } : {}) });
    this.holder.noteRoundTrip(this.roundTripMs ?? this.clock.now() - at);
    if (want) this.holder.answered(key);
    if (!result.ok) return { refused: result.reason };
    this.holder.noteExact(key, reserve);
    if (result.lease?.ok) this.holder.install(key, () => this.ledger, result.lease.lease);
    this.holder.drain();
    return { id, keyId: result.keyId, reserve, costMicros: result.reservedMicros, tokens: result.reservedTokens, via: "ledger" };
  }

  /** Settles an admitted request at `share` of its worst case (what the origin really used). */
  async settle(a: Admitted, share: number): Promise<void> {
    const request = this.settlement(a, share);
    if (a.via === "lease") {
      this.holder.settle(a.ticket, { request });
      this.holder.drain();
      await this.holder.flush();
    } else await this.ledger.settleMany([{ request }]);
  }

  /** The settlement of an admitted request that used `share` of its worst case. */
  settlement(a: Admitted, share: number): SettleRequest {
    const prompt = Math.floor(a.reserve.promptTokensUpper * share);
    const completion = Math.floor((a.tokens - a.reserve.promptTokensUpper) * share);
    const cost = Math.ceil((prompt * a.reserve.prices.input + completion * a.reserve.prices.output) / 1_000_000);
    const request: SettleRequest = {
      requestId: a.id,
      at: this.clock.now(),
      keyId: a.keyId,
      endpoint: "chat",
      scenario: "s",
      origin: "o",
      model: "m",
      stream: false,
      promptTokens: prompt,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      completionTokens: completion,
      costMicros: Math.min(cost, a.costMicros),
      usageSource: "origin",
      status: 200,
      outcome: "ok",
      latencyMs: 1,
    };
    return request;
  }

  /**
   * Lets renewals, reports and closings that are due run to their answers; for a crashed isolate,
   * lets what it sent before it died reach the ledger.
   */
  async settleDown(): Promise<void> {
    if (!this.dead) {
      this.holder.drain();
      await this.holder.flush();
    }
    while (this.sent.size > 0) await Promise.allSettled([...this.sent]);
  }
}

/** The books of a tenant's ledger: budget rows, usage rows, open leases. */
export async function books(tenantId: string) {
  return runInDurableObject(ledgerOf(tenantId), (_, state) => {
    const sql = state.storage.sql;
    return {
      budgets: sql.exec<{ id: string; metric: string; period: string; hard_limit: number }>("SELECT id, metric, period, hard_limit FROM budgets").toArray(),
      usage: sql.exec<{ budget_id: string; period_key: string; settled: number; reserved: number }>("SELECT budget_id, period_key, settled, reserved FROM budget_usage").toArray(),
      rows: sql.exec<{ request_id: string; cost_micros: number; outcome: string }>("SELECT request_id, cost_micros, outcome FROM usage").toArray(),
      leases: sql.exec<{ lease_id: string; charges: string; charge_at: number; slots: number | null }>("SELECT lease_id, charges, charge_at, slots FROM leases").toArray(),
      reservations: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reservations").one().n,
    };
  });
}

/** A grant's held cost, as the ledger keeps it. */
export function heldCost(lease: { charges: string }): number {
  return (JSON.parse(lease.charges) as Array<{ metric: string; amount: number }>).find((c) => c.metric === "cost")?.amount ?? 0;
}

export type { LeaseGrant };

/** Runs the ledger's alarm for every deadline up to `now` (each run charges what is due by its own time, and re-arms). */
export async function runAlarmsUntil(tenantId: string, now: number): Promise<void> {
  const ledger = ledgerOf(tenantId);
  for (;;) {
    const next = await runInDurableObject(ledger, (_, state) => state.storage.getAlarm());
    if (next === null || next > now) return;
    await runDurableObjectAlarm(ledger);
  }
}

/**
 * A tenant's ledger `rttMs` away (a ledger in another region): each admission and lease request is
 * answered one round trip of the test's clock after it was sent. Every call is counted.
 */
export class DistantLedger implements LedgerCalls {
  readonly calls = { admit: 0, acquireLease: 0, reportLease: 0, settleMany: 0 };
  /** Calls the real ledger has not answered yet (whatever the clock says). */
  private readonly unanswered = new Set<Promise<unknown>>();

  constructor(
    private readonly near: LedgerCalls,
    private readonly clock: TestClock,
    private readonly rttMs: number,
  ) {}

  private send<T>(answer: Promise<T>): Promise<T> {
    this.unanswered.add(answer);
    const forget = () => this.unanswered.delete(answer);
    answer.then(forget, forget);
    return answer;
  }

  /** Answered once both the ledger has answered and a round trip has passed on the clock. */
  private away<T>(answer: Promise<T>): Promise<T> {
    return Promise.all([this.send(answer), this.clock.sleep(this.rttMs)]).then(([a]) => a);
  }

  admit: LedgerCalls["admit"] = (r) => (this.calls.admit++, this.away(this.near.admit(r)));
  acquireLease: LedgerCalls["acquireLease"] = (r) => (this.calls.acquireLease++, this.away(this.near.acquireLease(r)));
  reportLease: LedgerCalls["reportLease"] = (r) => (this.calls.reportLease++, this.send(this.near.reportLease(r)));
  settleMany: LedgerCalls["settleMany"] = (items) => (this.calls.settleMany++, this.send(this.near.settleMany(items)));
  lookupPrefix: LedgerCalls["lookupPrefix"] = (l, at) => this.send(this.near.lookupPrefix(l, at));

  /** Waits until the real ledger has answered every call made so far, and what followed the answers ran. */
  async idle(): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, 0));
      if (this.unanswered.size === 0) return;
      await Promise.allSettled([...this.unanswered]);
    }
  }
}
