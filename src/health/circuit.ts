/**
 * The circuit breaker of one origin, as a pure state machine over outcomes and instants
 * (DESIGN §4: circuit state filters candidates).
 *
 *   closed ──(N consecutive failures, or error-rate EWMA > threshold over ≥ M samples;
 *             either blaming the origin, see below)──▶ open
 *   open ──(cool-down elapsed)──▶ half_open
 *   half_open ──(K consecutive probe successes)──▶ closed      (cool-down back to its base)
 *   half_open ──(a probe fails, blaming the origin)──▶ open     (cool-down doubled, up to a cap)
 *
 * There is no other edge: closed never goes to half_open, and open never closes without probes.
 *
 * No tenant opens a circuit alone (issue #12): a tenant's requests can fail because of what they
 * ask (a prompt so long that prefill outlasts the timeout), and that says nothing about the origin.
 * So each outcome may name the tenant whose request it was, and the evidence behind each rule (the
 * run of failures, the error-rate window) remembers whom it blames: nobody yet, one tenant, or the
 * origin (failures from two tenants or more, or any failure that was no tenant's, such as a probe's).
 * A rule whose evidence blames a single tenant does not open (nor re-open a half-open) circuit: it
 * leaves it where it is, `awaitingProbe`, and the OriginMonitor asks an isolate for an active probe.
 * The probe's failure blames the origin and the rule opens; its success clears the suspicion.
 * (How much one tenant's failures weigh in that evidence is capped first, in `tenant-cap.ts`.)
 *
 * Outcomes are judged by when their attempt *started* (`at`): one that started before the circuit's
 * current state began (`at < since`) is stale evidence and leaves the breaker alone. That makes
 * the breaker indifferent to batches arriving late from other isolates: the failures that opened
 * the circuit, arriving again from a slow isolate, cannot re-open a circuit that has since closed.
 *
 * The open → half_open edge happens at `openUntil` itself, whenever it is noticed (the next outcome,
 * admission or snapshot), so the recorded history does not depend on when someone looked.
 */
import { z } from "zod";

/**
 * Breaker settings, with defaults; meant to sit in an origin's config as `circuit: {...}`.
 * @example
 * circuitOptionsSchema.parse({ cooldownMs: 10_000 }).failureThreshold // 5
 */
export const circuitOptionsSchema = z
  .object({
    /** Consecutive failures that open a closed circuit. */
    failureThreshold: z.number().int().min(1).max(10_000).default(5),
    /** A closed circuit opens when its error-rate EWMA exceeds this (1 disables the rule)... */
    errorRateThreshold: z.number().gt(0).max(1).default(0.5),
    /** ...and at least this many outcomes were seen since it last closed. */
    minSamples: z.number().int().min(1).max(1_000_000).default(20),
    /** Weight of the newest outcome in the breaker's error-rate EWMA. */
    errorRateAlpha: z.number().gt(0).max(1).default(0.1),
    /** How long the circuit stays open the first time. */
    cooldownMs: z.number().int().min(1).max(86_400_000).default(30_000),
    /** Each failed half-open probe doubles the cool-down, up to this. */
    maxCooldownMs: z.number().int().min(1).max(86_400_000).default(300_000),
    /** Requests allowed in flight while half-open. */
    halfOpenMaxProbes: z.number().int().min(1).max(1_000).default(1),
    /** Consecutive successful probes that close a half-open circuit. */
    halfOpenSuccesses: z.number().int().min(1).max(1_000).default(2),
    /**
     * A tenant's failures count against the origin (breaker and error rate) at most this many times
     * in any `tenantWindowMs`; the rest are attributed to the tenant (see `tenant-cap.ts`). 0: a
     * tenant's failures never count, only probes and failures of no tenant do.
     */
    tenantFailureCap: z.number().int().min(0).max(20).default(2),
    /** The sliding window of `tenantFailureCap`, by when the attempts started. */
    tenantWindowMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    /**
     * The least time between two probes the monitor asks isolates for (to confirm or clear one
     * tenant's failures), across every isolate.
     */
    probeGapMs: z.number().int().min(100).max(3_600_000).default(2_000),
  })
  .strict()
  .refine((o) => o.cooldownMs <= o.maxCooldownMs, { message: "cooldownMs must not exceed maxCooldownMs", path: ["cooldownMs"] });

export type CircuitOptions = z.infer<typeof circuitOptionsSchema>;
/** Breaker settings as written in config (every field optional). */
export type CircuitOptionsInput = z.input<typeof circuitOptionsSchema>;

export const DEFAULT_CIRCUIT_OPTIONS: CircuitOptions = circuitOptionsSchema.parse({});

/** How many transitions a circuit remembers. */
export const HISTORY_LIMIT = 50;

export type CircuitStateName = "closed" | "open" | "half_open";

/** Why a circuit is in its state: the rule behind its last transition. */
export type CircuitReason =
  | "initial"
  | "consecutive_failures"
  | "error_rate"
  | "cooldown_elapsed"
  | "probe_failed"
  | "probes_succeeded";

export interface CircuitTransition {
  at: number;
  from: CircuitStateName;
  to: CircuitStateName;
  reason: CircuitReason;
  /** For people: the numbers behind the reason, e.g. "5 consecutive failures (last: timeout)". */
  detail: string;
}

/**
 * Whom the failures behind a rule blame: nobody (none yet), one tenant (every one of them came from
 * its requests), or the origin (failures from two tenants or more, or one that was no tenant's).
 */
export type Blame = { on: "nobody" } | { on: "tenant"; tenant: string } | { on: "origin" };

const NOBODY: Blame = { on: "nobody" };
const ORIGIN: Blame = { on: "origin" };

/**
 * The blame after one more failure, from `tenant`'s request or (undefined) from no tenant's.
 * @example
 * blameWith(blameWith({ on: "nobody" }, "acme"), "acme")   // { on: "tenant", tenant: "acme" }
 * blameWith({ on: "tenant", tenant: "acme" }, "globex")    // { on: "origin" }
 * blameWith({ on: "tenant", tenant: "acme" }, undefined)   // { on: "origin" }
 */
export function blameWith(blame: Blame, tenant: string | undefined): Blame {
  if (blame.on === "origin" || tenant === undefined) return ORIGIN;
  if (blame.on === "nobody") return { on: "tenant", tenant };
  return blame.tenant === tenant ? blame : ORIGIN;
}

/** A breaker's whole state: plain data, stored by the OriginMonitor as JSON. */
export interface Circuit {
  state: CircuitStateName;
  /** When the current state began. */
  since: number;
  /** While open: when it turns half-open. Null otherwise. */
  openUntil: number | null;
  reason: CircuitReason;
  /** The cool-down of the current open period (or of the next one, when closed). */
  cooldownMs: number;
  consecutiveFailures: number;
  /** Half-open only: successful probes in a row. */
  consecutiveSuccesses: number;
  /** Half-open only: probes admitted by {@link tryAcquire} whose outcome is not known yet. */
  probesInFlight: number;
  /**
   * Outcomes since the circuit last closed (or began): count and error-rate EWMA; and whom the
   * failures since the rate was last at or below its threshold blame (absent in state stored
   * before blame existed: read by `windowBlame`).
   */
  window: { samples: number; errorRate: number; blame?: Blame };
  /**
   * Whom `consecutiveFailures` blames, counted since the current state began (absent in state
   * stored before blame existed: read by `streakBlame`).
   */
  streakBlame?: Blame;
  /**
   * A rule would have opened the circuit (or re-opened it, half-open) on one tenant's failures
   * alone: a probe should tell whether the origin fails. Cleared by the next success or transition.
   */
  awaitingProbe?: boolean;
  /** The last {@link HISTORY_LIMIT} transitions, oldest first. */
  history: CircuitTransition[];
}

/** An attempt's outcome as the breaker sees it: when it started and whether it succeeded. */
export interface Outcome {
  at: number;
  ok: boolean;
  /** Why it failed, for the transition's detail (e.g. `timeout`). */
  kind?: string;
  /** Whose request it was; absent for probes, which blame the origin when they fail. */
  tenant?: string;
}

// State stored before blame existed: its failures named no tenant, so they blame the origin.
const streakBlame = (c: Circuit): Blame => c.streakBlame ?? (c.consecutiveFailures > 0 ? ORIGIN : NOBODY);
const windowBlame = (c: Circuit): Blame => c.window.blame ?? ORIGIN;

/** A closed circuit with no history, as of `at`. */
export function initialCircuit(at = 0, options: CircuitOptions = DEFAULT_CIRCUIT_OPTIONS): Circuit {
  return {
    state: "closed",
    since: at,
    openUntil: null,
    reason: "initial",
    cooldownMs: options.cooldownMs,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    probesInFlight: 0,
    window: { samples: 0, errorRate: 0, blame: NOBODY },
    streakBlame: NOBODY,
    awaitingProbe: false,
    history: [],
  };
}

function moveTo(
  c: Circuit,
  to: CircuitStateName,
  at: number,
  reason: CircuitReason,
  detail: string,
  patch: Partial<Circuit>,
): Circuit {
  const history = [...c.history, { at, from: c.state, to, reason, detail }];
  return {
    ...c,
    consecutiveSuccesses: 0,
    probesInFlight: 0,
    // A new state weighs new evidence: the failures that ended the last one blame nobody here.
    streakBlame: NOBODY,
    awaitingProbe: false,
    ...patch,
    state: to,
    since: at,
    openUntil: to === "open" ? at + (patch.cooldownMs ?? c.cooldownMs) : null,
    reason,
    history: history.length > HISTORY_LIMIT ? history.slice(history.length - HISTORY_LIMIT) : history,
  };
}

/**
 * The circuit as of `at`: an open circuit whose cool-down has elapsed is half-open, since the
 * instant it elapsed. Otherwise unchanged (the same object).
 */
export function advanceCircuit(c: Circuit, at: number): Circuit {
  if (c.state !== "open" || c.openUntil === null || at < c.openUntil) return c;
  return moveTo(c, "half_open", c.openUntil, "cooldown_elapsed", `cool-down of ${c.cooldownMs} ms elapsed`, {});
}

/**
 * Whether a request may go to the origin at `at`, and the circuit after admitting it: always when
 * closed, never while open, and while half-open only as long as fewer than `halfOpenMaxProbes`
 * admitted probes await their outcome.
 * @example
 * tryAcquire(initialCircuit(), 1_000).allowed // true
 */
export function tryAcquire(c: Circuit, at: number, options: CircuitOptions = DEFAULT_CIRCUIT_OPTIONS): { allowed: boolean; circuit: Circuit } {
  const now = advanceCircuit(c, at);
  switch (now.state) {
    case "closed":
      return { allowed: true, circuit: now };
    case "open":
      return { allowed: false, circuit: now };
    case "half_open":
      if (now.probesInFlight >= options.halfOpenMaxProbes) return { allowed: false, circuit: now };
      return { allowed: true, circuit: { ...now, probesInFlight: now.probesInFlight + 1 } };
  }
}

/**
 * Folds one attempt's outcome into the circuit. Outcomes that started before the current state
 * began, and any outcome while open (nothing was admitted then), change nothing.
 */
export function recordOutcome(c: Circuit, outcome: Outcome, options: CircuitOptions = DEFAULT_CIRCUIT_OPTIONS): Circuit {
  const now = advanceCircuit(c, outcome.at);
  if (outcome.at < now.since) return now;
  const last = outcome.kind ?? (outcome.ok ? "ok" : "failure");
  switch (now.state) {
    case "open":
      return now;
    case "closed": {
      const w = now.window;
      const x = outcome.ok ? 0 : 1;
      const errorRate = w.samples === 0 ? x : w.errorRate + options.errorRateAlpha * (x - w.errorRate);
      // The rate rule weighs the failures since the rate was last acceptable: they pushed it up.
      const blame = errorRate <= options.errorRateThreshold ? NOBODY : outcome.ok ? windowBlame(now) : blameWith(windowBlame(now), outcome.tenant);
      const window = { samples: w.samples + 1, errorRate, blame };
      if (outcome.ok) return { ...now, window, consecutiveFailures: 0, streakBlame: NOBODY, awaitingProbe: false };
      const failures = now.consecutiveFailures + 1;
      const streak = blameWith(streakBlame(now), outcome.tenant);
      const counted: Circuit = { ...now, window, consecutiveFailures: failures, streakBlame: streak };
      const base = { cooldownMs: options.cooldownMs };
      const byCount = failures >= options.failureThreshold;
      // Only a failure can open on the rate: opening "because" a request just succeeded would be absurd.
      const byRate = window.samples >= options.minSamples && window.errorRate > options.errorRateThreshold;
      if (byCount && streak.on === "origin") {
        return moveTo(counted, "open", outcome.at, "consecutive_failures", `${failures} consecutive failures (last: ${last})`, base);
      }
      if (byRate && blame.on === "origin") {
        const detail = `error rate ${window.errorRate.toFixed(3)} > ${options.errorRateThreshold} over ${window.samples} samples`;
        return moveTo(counted, "open", outcome.at, "error_rate", detail, base);
      }
      // A rule tripped on one tenant's failures alone: maybe its requests fail, not the origin.
      return byCount || byRate ? { ...counted, awaitingProbe: true } : counted;
    }
    case "half_open": {
      const probesInFlight = Math.max(0, now.probesInFlight - 1);
      if (!outcome.ok) {
        const streak = blameWith(streakBlame(now), outcome.tenant);
        if (streak.on !== "origin") {
          // One tenant's failure neither re-opens the circuit nor undoes the successes so far.
          return { ...now, consecutiveFailures: now.consecutiveFailures + 1, streakBlame: streak, probesInFlight, awaitingProbe: true };
        }
        const cooldownMs = Math.min(now.cooldownMs * 2, options.maxCooldownMs);
        return moveTo({ ...now, consecutiveFailures: now.consecutiveFailures + 1 }, "open", outcome.at, "probe_failed", `probe failed (${last}); cool-down ${cooldownMs} ms`, {
          cooldownMs,
        });
      }
      const successes = now.consecutiveSuccesses + 1;
      if (successes >= options.halfOpenSuccesses) {
        return moveTo(now, "closed", outcome.at, "probes_succeeded", `${successes} consecutive probes succeeded`, {
          cooldownMs: options.cooldownMs,
          consecutiveFailures: 0,
          window: { samples: 0, errorRate: 0, blame: NOBODY },
        });
      }
      return { ...now, consecutiveFailures: 0, streakBlame: NOBODY, awaitingProbe: false, consecutiveSuccesses: successes, probesInFlight };
    }
  }
}

/** What an isolate may do with an origin: send freely, send as one of the half-open probes, or skip it. */
export type Admission = "allow" | "probe" | "deny";

/**
 * An isolate's decision from its cached view of a circuit (an `OriginSnapshot`'s `circuit`), with
 * no round trip: the monitor sees outcomes, not request starts, so each isolate limits the probes
 * it has in flight itself (`localProbesInFlight`, from attempts it started minus outcomes it saw).
 * An open view whose `openUntil` has passed is treated as half-open: the view is older than that.
 * @example
 * admissionOf({ state: "open", openUntil: 5_000 }, 4_000, 0) // "deny"
 * admissionOf({ state: "open", openUntil: 5_000 }, 6_000, 0) // "probe"
 */
export function admissionOf(
  view: { state: CircuitStateName; openUntil: number | null },
  at: number,
  localProbesInFlight: number,
  options: CircuitOptions = DEFAULT_CIRCUIT_OPTIONS,
): Admission {
  if (view.state === "closed") return "allow";
  if (view.state === "open" && view.openUntil !== null && at < view.openUntil) return "deny";
  return localProbesInFlight < options.halfOpenMaxProbes ? "probe" : "deny";
}
