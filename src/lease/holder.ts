/**
 * The isolate's side of leased admission (DESIGN §3). For each key it has seen, the isolate holds
 * a lease from the tenant's ledger: the verdict on the key and slices of its budgets, rate limits
 * and concurrency. A request whose worst case fits what the lease has left is admitted here, in
 * memory, with no round trip; one that does not fit, or comes without a live lease, takes the
 * exact path (the ledger decides it, and grants the next lease on the same round trip).
 *
 * - A lease admits for a window (`admitUntil`, at most `leaseMs`); a quarter before its end, the
 *   next one is asked for in the background. Revocation and policy changes therefore reach this
 *   isolate within one window.
 * - With the ledger far away, the next lease is asked for early: when what the lease has left
 *   would run out within two round trips at the key's recent rate (the round trip is measured,
 *   round-trip.ts), or its window ends within two. It asks for enough to cover its window and the
 *   round trip, so requests arriving while it travels are still admitted here.
 * - One lease request per key is in flight at a time (a renewal, or one riding an exact
 *   admission); the next may go as soon as the ledger answers. A lease asks for its successor
 *   once: granted, it is replaced; refused (revoked, strict, near a limit), it asks no more and
 *   runs out, and the exact path asks again with each admission, on the call it makes anyway; a
 *   failed call is retried after a round trip. So renewal never costs a call per request.
 * - A request admitted here is settled here: its unused worst case goes back to the lease, and its
 *   usage row joins the lease's next report, sent in a batch off the critical path.
 * - A lease past its window (or replaced) closes once its last request has settled: the final
 *   report gives back what it still holds. One never closed (the isolate died) is charged in full
 *   by the ledger's alarm, as a reservation would be.
 *
 * The clock is injected; the class is the same in the Worker and in tests that play several
 * isolates against one real ledger. Work that must outlive the request that started it (reports,
 * closing a lease at its window's end) is queued; each request hands the queue to `waitUntil`
 * (`drain`).
 */
import { decideBudgets, type BudgetState } from "../ledger/admission";
import type { AdmitResult, LeaseGrant, LeaseItem, LeaseWant, RateLimitState, ReservationRequest } from "../ledger/types";
import { RecentLoad } from "../affinity/recent-load";
import type { LedgerCalls } from "./ledger-client";
import { RoundTrip } from "./round-trip";

type Admitted = Extract<AdmitResult, { ok: true }>;

export interface LeaseHolderOptions {
  /** This isolate's name in the ledger's records. */
  holder: string;
  /** The router's clock. */
  now: () => number;
  /** The admission window asked for. */
  leaseMs: number;
  /** How long after its window a request admitted under a lease may still run (the longest hold). */
  holdMs: number;
  /** How long settled requests wait to be reported together (default 200 ms). */
  reportDelayMs?: number;
  /** Waits `ms` of the router's clock (tests inject their own). */
  sleep?: (ms: number) => Promise<void>;
}

/** What a lease has left to admit from; null: nothing limits that dimension. */
interface Pools {
  costMicros: number | null;
  tokens: number | null;
  requests: number | null;
  rateTokens: number | null;
  slots: number | null;
}

/** One lease as the isolate holds it. */
export class HeldLease {
  readonly free: Pools;
  /** Requests admitted under it, and the worst-case tokens they took (for the rate-limit headers). */
  admitted = 0;
  tokensTaken = 0;
  inFlight = 0;
  /** Replaced by a newer lease: admits nothing more, closes once drained. */
  retired = false;
  /** A request did not fit what is left: a new lease is worth asking for before the window ends. */
  exhausted = false;
  /**
   * No renewal is asked from this lease before this instant: never again once the ledger refused
   * one (the exact path asks with its admissions), a round trip later after a failed call.
   */
  renewAfter = 0;
  /** The worst case of the last request it admitted or turned away: how many more it can take. */
  perRequest: { costMicros: number; tokens: number } = { costMicros: 0, tokens: 0 };
  closed = false;
  /** Settled, not yet reported. */
  readonly pending: LeaseItem[] = [];
  /** The lease's reports, one after another. */
  chain: Promise<void> = Promise.resolve();
  flushScheduled = false;

  /**
   * `ledger` makes a client of the tenant's ledger: one per call, in the calling request's context
   * (a Durable Object stub made by one request cannot be used by another).
   */
  constructor(
    readonly key: string,
    readonly grant: LeaseGrant,
    readonly ledger: () => LedgerCalls,
    /** When this isolate took it (the router's clock): its own rate of admissions is measured from then. */
    readonly installedAt: number,
  ) {
    this.free = { costMicros: grant.costMicros, tokens: grant.tokens, requests: grant.requests, rateTokens: grant.rateTokens, slots: grant.slots };
  }
}

/** A request admitted under a lease: what it took, given back when it settles. */
export interface LeaseTicket {
  lease: HeldLease;
  costMicros: number;
  tokens: number;
}

export type LocalAdmission =
  | { kind: "admitted"; admission: Admitted; ticket: LeaseTicket }
  | { kind: "model_not_allowed" }
  /** No live lease covers it: the ledger decides. */
  | { kind: "exact" };

interface KeyState {
  current: HeldLease | null;
  /**
   * When a lease was last asked for (by renewal, or with an exact admission), by the router's
   * clock; null once the ledger answered. One ask at a time per key, until the answer or, should
   * none ever come (a request cancelled before its `finally`), `asking` gives it up.
   */
  askedAt: number | null;
  /** One request's worst case, as last admitted: sizes the next lease. */
  perRequest: { costMicros: number; tokens: number };
}

/** How many requests' worth a lease asks for: twice the key's recent rate over the window, within bounds. */
const MIN_WANT = 4;
const MAX_WANT = 2_000;
const MAX_BATCH = 64;
/** A lease is renewed early when what it has left, or its window, would last fewer than this many round trips. */
const EARLY_RENEWAL_ROUND_TRIPS = 2;
/** A lease's own rate is measured over at least this long (ms), and a round trip. */
const MIN_RATE_SPAN_MS = 20;
/** After a failed lease call, the next waits a round trip, and at least this long (ms). */
const MIN_RETRY_MS = 10;
/** Keys remembered per isolate; past it the least recently used goes (its lease closes as usual). */
const MAX_KEYS = 10_000;

export class LeaseHolder {
  private readonly keys = new Map<string, KeyState>();
  /** Work started by the holder that a request must keep alive (`waitUntil`). */
  private background: Promise<void>[] = [];
  /** Leases not yet closed at the ledger. */
  private readonly live = new Set<HeldLease>();
  /** Admissions per key lately (decayed, 1 s half-life): the rate a lease is sized by. */
  private readonly rates = new RecentLoad(1_000);
  private readonly sleep: (ms: number) => Promise<void>;
  /** The ledger's round trip from this isolate, from its lease and exact-admission calls. */
  private readonly roundTrip: RoundTrip;
  /** Renewals sent and not yet answered (`flush` waits for them). */
  private readonly renewals = new Set<Promise<void>>();

  constructor(private readonly options: LeaseHolderOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.roundTrip = new RoundTrip(() => options.leaseMs);
  }

  /** Admits a request under the key's lease, or says it must take the exact path. */
  admit(key: string, model: string | null, reserve: ReservationRequest, at: number): LocalAdmission {
    // Every request counts toward the key's rate, whichever path admits it: it sizes the next lease.
    this.rates.add(key, 1, at);
    const state = this.keys.get(key);
    const lease = state?.current;
    if (!state || !lease || lease.retired || at >= lease.grant.admitUntil) return { kind: "exact" };
    const { grant, free } = lease;
    if (model !== null && grant.allowedModels !== null && !grant.allowedModels.includes(model)) return { kind: "model_not_allowed" };

    // The ledger's own budget decision, over what the lease has left.
    const states: BudgetState[] = [];
    if (free.costMicros !== null) states.push(sliceState("cost", grant.costMicros!, free.costMicros));
    if (free.tokens !== null) states.push(sliceState("tokens", grant.tokens!, free.tokens));
    const decision = decideBudgets(states, reserve);
    const wanted = reserve.endpoint === "embeddings" ? 0 : (reserve.requestedOutputCap ?? reserve.defaultOutputCap);
    // A lease never lowers a cap: where the slice would, the ledger decides with the whole budget.
    const fits =
      decision.kind === "admit" &&
      (decision.outputCap === null || decision.outputCap >= wanted) &&
      (free.requests === null || free.requests >= 1) &&
      (free.rateTokens === null || free.rateTokens >= decision.tokens) &&
      (free.slots === null || free.slots >= 1);
    if (!fits || decision.kind !== "admit") {
      lease.exhausted = true;
      lease.perRequest = worstCase(reserve);
      return { kind: "exact" };
    }
    if (free.costMicros !== null) free.costMicros -= decision.costMicros;
    if (free.tokens !== null) free.tokens -= decision.tokens;
    if (free.requests !== null) free.requests -= 1;
    if (free.rateTokens !== null) free.rateTokens -= decision.tokens;
    if (free.slots !== null) free.slots -= 1;
    lease.admitted++;
    lease.tokensTaken += decision.tokens;
    lease.inFlight++;
    lease.perRequest = state.perRequest = { costMicros: decision.costMicros, tokens: decision.tokens };
    const admission: Admitted = {
      ok: true,
      tenantId: grant.tenantId,
      keyId: grant.keyId,
      allowedModels: grant.allowedModels,
      outputCap: grant.budgeted ? decision.outputCap : null,
      reservedMicros: decision.costMicros,
      reservedTokens: decision.tokens,
      softLimited: grant.softLimited,
      budgetPressure: grant.budgetPressure,
      rateLimit: rateLimitAfter(grant.rateLimit, lease.admitted, lease.tokensTaken),
      boundaries: grant.boundaries,
      maxPriority: grant.maxPriority,
      debug: grant.debug,
    };
    return { kind: "admitted", admission, ticket: { lease, costMicros: decision.costMicros, tokens: decision.tokens } };
  }

  /**
   * What to ask of the ledger, with an exact admission, for the key's next lease; undefined when a
   * lease is already being asked for (a burst of exact admissions asks once, not once each).
   */
  wantWithAdmission(key: string, reserve: ReservationRequest, at: number): LeaseWant | undefined {
    let state = this.keys.get(key);
    if (!state) {
      state = { current: null, askedAt: null, perRequest: worstCase(reserve) };
      this.keys.set(key, state);
      this.forgetOldKeys();
    }
    if (this.asking(state, at)) return undefined;
    state.askedAt = at;
    return this.want(key, reserve, at);
  }

  /** The exact admission that carried a lease request was answered (with a lease or not). */
  answered(key: string): void {
    const state = this.keys.get(key);
    if (state) state.askedAt = null;
  }

  /**
   * Whether a lease is being asked for. An ask unanswered for a window or four round trips,
   * whichever is longer, is given up: its answer may never come back to this isolate.
   */
  private asking(state: KeyState, at: number): boolean {
    return state.askedAt !== null && at - state.askedAt < Math.max(this.options.leaseMs, 4 * this.roundTrip.ms);
  }

  /** Notes how long a call to the ledger took (an exact admission; renewals are timed here), by the router's clock. */
  noteRoundTrip(ms: number): void {
    this.roundTrip.note(ms);
  }

  /** The ledger's round trip as measured so far (ms; 0 before the first call). */
  get roundTripMs(): number {
    return this.roundTrip.ms;
  }

  /**
   * The key's recent requests per ms: the decayed count (1 s half-life: a steady rate r sums to
   * r / ln 2), or the current lease's own rate when higher (the decayed count lags a rise by seconds).
   */
  private rate(key: string, at: number): number {
    const decayed = (this.rates.of(key, at) * Math.LN2) / 1000;
    const lease = this.keys.get(key)?.current;
    if (!lease || lease.retired) return decayed;
    return Math.max(decayed, lease.admitted / Math.max(at - lease.installedAt, this.roundTrip.ms, MIN_RATE_SPAN_MS));
  }

  /** What to ask of the ledger for the key's next lease: twice its window and a round trip, at the recent rate. */
  want(key: string, reserve: ReservationRequest | null, at: number): LeaseWant {
    const state = this.keys.get(key);
    const perRequest = state?.perRequest ?? (reserve ? worstCase(reserve) : { costMicros: 0, tokens: 0 });
    const requests = Math.min(MAX_WANT, Math.max(MIN_WANT, Math.ceil(this.rate(key, at) * (this.options.leaseMs + this.roundTrip.ms) * 2)));
    return { holder: this.options.holder, requests, perRequest, slots: Math.max(MIN_WANT, Math.ceil(requests / 4)), leaseMs: this.options.leaseMs, holdMs: this.options.holdMs };
  }

  /** Remembers the worst case of a request the exact path admitted: it sizes the next lease. */
  noteExact(key: string, reserve: ReservationRequest): void {
    const state = this.keys.get(key);
    if (state) state.perRequest = worstCase(reserve);
  }

  /** The work started since the last call, for the calling request's `waitUntil`. */
  drain(): Promise<void>[] {
    const work = this.background;
    this.background = [];
    return work;
  }

  /**
   * Takes a lease granted for `key` as the one to admit from; the one it replaces closes once its
   * requests have settled, and this one is closed at its window's end (queued work, also returned:
   * a renewal's own work holds on to it, see `renew`).
   */
  install(key: string, ledger: () => LedgerCalls, grant: LeaseGrant): Promise<void> {
    let state = this.keys.get(key);
    if (!state) {
      state = { current: null, askedAt: null, perRequest: { costMicros: 0, tokens: 0 } };
      this.keys.set(key, state);
      this.forgetOldKeys();
    }
    const lease = new HeldLease(key, grant, ledger, this.options.now());
    this.live.add(lease);
    const previous = state.current;
    state.current = lease;
    if (previous) {
      previous.retired = true;
      this.closeIfDone(previous);
    }
    const closing = this.sleep(Math.max(0, grant.admitUntil - this.options.now())).then(() => {
      lease.retired = true;
      this.closeIfDone(lease);
      return lease.chain;
    });
    this.background.push(closing);
    return closing;
  }

  /**
   * Asks for the key's next lease when its current one, used and still admitting, ran short, would
   * run short within two round trips at the key's recent rate, or nears the end of its window (the
   * last quarter, or two round trips); the asking is queued work. Returns whether it asked.
   */
  renew(key: string, at: number): boolean {
    const state = this.keys.get(key);
    const lease = state?.current;
    if (!state || !lease || this.asking(state, at) || lease.retired || lease.admitted === 0) return false;
    // Past its window the lease admits nothing: the exact path asks, with its admissions.
    if (at >= lease.grant.admitUntil || at < lease.renewAfter) return false;
    const early = EARLY_RENEWAL_ROUND_TRIPS * this.roundTrip.ms;
    const due = lease.exhausted || at >= lease.grant.admitUntil - Math.max(this.options.leaseMs / 4, early) || this.runsShort(lease, key, at);
    if (!due) return false;
    state.askedAt = at;
    const want = this.want(key, null, at);
    const sent = this.options.now();
    let closing: Promise<void> | undefined;
    const answer = lease
      .ledger()
      .acquireLease({ key, at, want })
      .then(
        (result) => {
          // Answered: the next lease request may go (not only once some window closes).
          state.askedAt = null;
          this.roundTrip.note(this.options.now() - sent);
          if (result.ok) closing = this.install(key, lease.ledger, result.lease);
          // Refused (revoked, strict, near a limit): asked again, this lease would be refused again
          // on every request; it runs out, and the exact path follows.
          else lease.renewAfter = Infinity;
        },
        (e: unknown) => {
          state.askedAt = null;
          lease.renewAfter = this.options.now() + Math.max(this.roundTrip.ms, MIN_RETRY_MS);
          console.error("lease renewal failed", e);
        },
      )
      .finally(() => this.renewals.delete(answer));
    this.renewals.add(answer);
    // The renewed lease's closing is part of this work: queued after the request that asked had
    // drained its work, it would wait for another request to keep it alive, and with none (the
    // key's last request) its window's end would never close it: the ledger would charge it in
    // full at its deadline.
    this.background.push(answer.then(() => closing));
    return true;
  }

  /** Whether what the lease has left would run out within a few round trips at the key's recent rate. */
  private runsShort(lease: HeldLease, key: string, at: number): boolean {
    const rtt = this.roundTrip.ms;
    if (rtt === 0) return false;
    return requestsLeft(lease) < this.rate(key, at) * rtt * EARLY_RENEWAL_ROUND_TRIPS;
  }

  /**
   * Settles a request admitted under a lease: what it did not use goes back to the lease, and its
   * usage row joins the lease's next report (queued work).
   */
  settle(ticket: LeaseTicket, item: Omit<LeaseItem, "reservedMicros">): void {
    const { lease } = ticket;
    const r = item.request;
    const tokens = r.promptTokens + r.completionTokens;
    const { free } = lease;
    if (free.costMicros !== null) free.costMicros += ticket.costMicros - r.costMicros;
    if (free.tokens !== null) free.tokens += ticket.tokens - tokens;
    if (free.rateTokens !== null) free.rateTokens += ticket.tokens - tokens;
    if (free.slots !== null) free.slots += 1;
    lease.inFlight--;
    lease.pending.push({ ...item, reservedMicros: ticket.costMicros });
    if (this.options.now() >= lease.grant.admitUntil) lease.retired = true;
    if (this.closeIfDone(lease)) return;
    if (lease.pending.length >= MAX_BATCH) {
      this.background.push(this.report(lease, false));
      return;
    }
    if (lease.flushScheduled) return;
    lease.flushScheduled = true;
    this.background.push(
      this.sleep(this.options.reportDelayMs ?? 200).then(() => {
        lease.flushScheduled = false;
        return lease.closed ? undefined : this.report(lease, false);
      }),
    );
  }

  /** Closes a retired lease whose requests have all settled (queued work); false while it still has work. */
  private closeIfDone(lease: HeldLease): boolean {
    if (!lease.retired || lease.inFlight > 0 || lease.closed) return false;
    lease.closed = true;
    this.background.push(this.report(lease, true));
    return true;
  }

  /**
   * Sends the settled rows of a tenant's leases now instead of after the report delay, and resolves
   * once the ledger has answered (a closing lease's last report included). Never rejects: a report
   * that fails keeps its rows for the next one. The reports it starts are queued work too (`drain`),
   * so that they outlive the caller's request. For a reader that needs a row this isolate may hold
   * (feedback on a request just answered).
   */
  reportNow(tenantId: string): Promise<void> {
    const answered: Promise<void>[] = [];
    for (const lease of this.live) {
      if (lease.grant.tenantId !== tenantId) continue;
      if (lease.pending.length > 0 && !lease.closed) {
        const report = this.report(lease, false);
        this.background.push(report);
        answered.push(report);
      } else answered.push(lease.chain);
    }
    return Promise.all(answered).then(() => undefined);
  }

  /**
   * Resolves once every renewal and report started so far has been answered, and what their
   * answers started too (tests; the Worker never waits).
   */
  async flush(): Promise<void> {
    for (;;) {
      const chains = new Map([...this.live].map((l) => [l, l.chain]));
      await Promise.all([...this.renewals, ...chains.values()]);
      if (this.renewals.size === 0 && [...this.live].every((l) => chains.get(l) === l.chain)) return;
    }
  }

  /** Sends what the lease has pending (and, with `close`, ends it), after any report before it. */
  private report(lease: HeldLease, close: boolean): Promise<void> {
    lease.chain = lease.chain.then(async () => {
      const items = lease.pending.splice(0);
      if (items.length === 0 && !close) return;
      try {
        const open = await lease.ledger().reportLease({ leaseId: lease.grant.leaseId, at: this.options.now(), items, close });
        if (close) this.live.delete(lease);
        if (!open) console.error(`lease ${lease.grant.leaseId}: no longer open at the ledger; ${items.length} usage rows dropped (its charge covered them)`);
      } catch (e) {
        // Kept for the next report; should the isolate die first, the lease's charge covers them.
        lease.pending.unshift(...items);
        if (close) lease.closed = false;
        console.error(`lease ${lease.grant.leaseId}: report failed`, e);
      }
    });
    return lease.chain;
  }

  private forgetOldKeys(): void {
    while (this.keys.size > MAX_KEYS) {
      const [oldest, state] = this.keys.entries().next().value!;
      if (state.current) state.current.retired = true;
      this.keys.delete(oldest);
    }
  }
}

/** A slice as a budget the ledger's decision can read: its limit, and what is taken of it. */
function sliceState(metric: "cost" | "tokens", granted: number, free: number): BudgetState {
  return { budget: { id: `lease-${metric}`, keyId: null, metric, period: "total", limit: granted, softLimit: null }, settled: 0, reserved: granted - free };
}

/** How many more requests like the last one the lease can admit (slots come back as requests settle: not counted). */
function requestsLeft(lease: HeldLease): number {
  const { free, perRequest } = lease;
  let left = free.requests ?? Infinity;
  if (free.costMicros !== null && perRequest.costMicros > 0) left = Math.min(left, free.costMicros / perRequest.costMicros);
  if (free.tokens !== null && perRequest.tokens > 0) left = Math.min(left, free.tokens / perRequest.tokens);
  if (free.rateTokens !== null && perRequest.tokens > 0) left = Math.min(left, free.rateTokens / perRequest.tokens);
  return left;
}

/** One request's worst case (admission's arithmetic with no budget). */
function worstCase(reserve: ReservationRequest): { costMicros: number; tokens: number } {
  const d = decideBudgets([], reserve);
  return d.kind === "admit" ? { costMicros: d.costMicros, tokens: d.tokens } : { costMicros: 0, tokens: 0 };
}

/** The rate-limit state a client is told: the buckets as the lease found them, less what this isolate took since. */
function rateLimitAfter(state: RateLimitState, requests: number, tokens: number): RateLimitState {
  return {
    requests: state.requests ? { ...state.requests, remaining: Math.max(0, state.requests.remaining - requests) } : null,
    tokens: state.tokens ? { ...state.tokens, remaining: Math.max(0, state.tokens.remaining - tokens) } : null,
  };
}
