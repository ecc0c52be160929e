/**
 * An origin's day: how its latency and availability change with the (virtual) hour, for benchmarks
 * that replay a whole day. A MaaS provider is slower and far less steady at its peak (practitioners
 * report the same model swinging 2-3.7× in throughput over a week), has brown-outs (slow first
 * tokens, a share of 5xx), and a self-hosted pool has maintenance hours.
 *
 * Per request the profile yields a fault (the same shapes a request's own `sim` field can ask for),
 * so the chat handler needs no change: maintenance and a brown-out's errors answer with a status;
 * a brown-out's slow first token and the hour's latency are a `delayMs` before the headers.
 *
 * Draws are a pure function of (profile seed, origin, the request's messages), not of arrival
 * order, so every policy of a benchmark meets the same luck for the same request at the same origin.
 */
import { z } from "zod";
import type { Fault } from "./faults";
import { fnv1a32, mulberry32 } from "./hash";

const HH_MM = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const hhmm = z.string().regex(HH_MM, "a time of day as HH:MM (UTC), 00:00 to 24:00");
const hourly = (item: z.ZodNumber) => z.array(item).length(24, "one value per hour, 00 to 23 (UTC)");

/** A span of the day, [from, to) in UTC; `from` after `to` crosses midnight. */
const spanShape = { from: hhmm, to: hhmm };

export const DayProfileSchema = z.strictObject({
  /** Median multiplier of the origin's fixed TTFT (`ttftBaseMs`) by UTC hour (1: as configured). */
  ttftMultiplier: hourly(z.number().positive()).optional(),
  /** σ of a lognormal factor (median 1) on that fixed TTFT by UTC hour: 0 steady, 0.8 heavy swings. */
  jitterSigma: hourly(z.number().nonnegative().max(4)).optional(),
  /** Brown-outs: `errorShare` of requests answered with `status`, the rest get their first token `slowMs` late. */
  brownouts: z
    .array(
      z.strictObject({
        ...spanShape,
        errorShare: z.number().min(0).max(1),
        status: z.number().int().min(500).max(599).default(503),
        /** [min, max] extra ms before the headers, drawn uniformly. */
        slowMs: z.tuple([z.number().nonnegative(), z.number().nonnegative()]).default([0, 0]),
      }),
    )
    .default([]),
  /** Maintenance: every chat request answered 503. */
  maintenance: z.array(z.strictObject(spanShape)).default([]),
  /** Varies the draws between benchmark seeds. */
  seed: z.number().int().default(0),
});

/** A day profile as written (defaults optional). */
export type DayProfileInput = z.input<typeof DayProfileSchema>;
/** A validated day profile. */
export type DayProfile = z.output<typeof DayProfileSchema>;

/** What a day profile did to one request. */
export type DayEffectKind = "maintenance" | "brownout_error" | "brownout_slow" | "slowed" | "none";

export interface DayEffect {
  kind: DayEffectKind;
  /** The fault to apply, or undefined for none. */
  fault: Fault | undefined;
}

const DAY_MS = 86_400_000;

function minutesOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

/** Whether a UTC instant falls in [from, to) of its day; a span with from > to crosses midnight. */
export function inSpan(span: { from: string; to: string }, atMs: number): boolean {
  const minute = Math.floor((((atMs % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
  const from = minutesOf(span.from);
  const to = minutesOf(span.to);
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

/** The UTC hour (0-23) of an instant. */
export function utcHour(atMs: number): number {
  return Math.floor((((atMs % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000);
}

/**
 * The uniform draws of one request at one origin: a seeded stream keyed by what the request asks
 * (its messages), which the router relays unchanged whatever the policy.
 */
export function requestDraws(seed: number, origin: string, messages: unknown): () => number {
  const key = new TextEncoder().encode(`${seed}\u0000${origin}\u0000${JSON.stringify(messages) ?? ""}`);
  return mulberry32(fnv1a32(key));
}

/** A standard normal draw from two uniforms (Box-Muller). */
function normal(next: () => number): number {
  const u = Math.max(next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/**
 * What the profile does to a chat request arriving at virtual instant `atMs`. Maintenance first,
 * then a brown-out, then the hour's latency: the fixed TTFT becomes `base × multiplier × e^(σ·N)`,
 * and what exceeds `base` is added before the headers (never less than the configured TTFT).
 * @example
 * dayEffect({ ...profile, maintenance: [{ from: "03:00", to: "04:00" }] }, 200, Date.UTC(2026, 0, 1, 3, 30), () => 0.5)
 * // { kind: "maintenance", fault: { status: 503, message: "..." } }
 */
export function dayEffect(profile: DayProfile, ttftBaseMs: number, atMs: number, next: () => number): DayEffect {
  if (profile.maintenance.some((m) => inSpan(m, atMs))) {
    return { kind: "maintenance", fault: { status: 503, message: "The origin is down for maintenance (sim day profile)." } };
  }
  const brownout = profile.brownouts.find((b) => inSpan(b, atMs));
  if (brownout) {
    if (next() < brownout.errorShare) {
      return { kind: "brownout_error", fault: { status: brownout.status, message: "The server is overloaded (sim brown-out)." } };
    }
    const [lo, hi] = brownout.slowMs;
    return { kind: "brownout_slow", fault: { delayMs: lo + next() * Math.max(0, hi - lo) } };
  }
  const hour = utcHour(atMs);
  const multiplier = profile.ttftMultiplier?.[hour] ?? 1;
  const sigma = profile.jitterSigma?.[hour] ?? 0;
  const factor = multiplier * (sigma > 0 ? Math.exp(sigma * normal(next)) : 1);
  const extraMs = Math.max(0, ttftBaseMs * (factor - 1));
  return extraMs > 0 ? { kind: "slowed", fault: { delayMs: extraMs } } : { kind: "none", fault: undefined };
}

/** How often each effect hit one origin, for `GET /_sim/stats`. */
export interface DayCounts {
  maintenance: number;
  brownoutErrors: number;
  brownoutSlow: number;
  slowed: number;
  /** Sum of the delays added before the headers, ms. */
  delayMs: number;
}

/** Counters of one origin's day effects. */
export class DayStats {
  private counts: DayCounts = DayStats.zero();

  private static zero(): DayCounts {
    return { maintenance: 0, brownoutErrors: 0, brownoutSlow: 0, slowed: 0, delayMs: 0 };
  }

  record(effect: DayEffect): void {
    const c = this.counts;
    if (effect.kind === "maintenance") c.maintenance++;
    else if (effect.kind === "brownout_error") c.brownoutErrors++;
    else if (effect.kind === "brownout_slow") c.brownoutSlow++;
    else if (effect.kind === "slowed") c.slowed++;
    c.delayMs += effect.fault?.delayMs ?? 0;
  }

  reset(): void {
    this.counts = DayStats.zero();
  }

  snapshot(): DayCounts {
    return { ...this.counts, delayMs: Math.round(this.counts.delayMs) };
  }
}
