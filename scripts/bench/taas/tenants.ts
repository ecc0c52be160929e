/**
 * The tenants of the benchmark's day, as data: who sends what, when, and how big. Hours are UTC;
 * each curve is a weight per hour (its shape is what matters, not its sum).
 *
 * - acme: a customer-facing assistant in European business hours, mostly interactive.
 * - globex: a public API used round the clock, mostly standard, with a launch spike at 14:00-14:20.
 * - initech: data pipelines, mostly batch (`flex`): a nightly run, a trickle by day, evening jobs.
 * - umbrella: an internal tool in business hours, mixed, on a daily budget that runs out in the
 *   afternoon (sized in budget.ts from the trace itself).
 */
export type RequestClass = "interactive" | "standard" | "batch";

/** What each class sends as OpenAI's `service_tier` (the router maps it to the class). */
export const SERVICE_TIER: Readonly<Record<RequestClass, "priority" | "default" | "flex">> = {
  interactive: "priority",
  standard: "default",
  batch: "flex",
};

/** [min, max], inclusive. */
export type Range = readonly [number, number];

export interface TenantSpec {
  id: string;
  /** Share of the day's requests (before the spike). */
  share: number;
  /** Share of each class among its requests. */
  mix: Readonly<Record<RequestClass, number>>;
  /** Weight per UTC hour, 24 values. */
  curve: readonly number[];
  /** Tokens of the system prompt every request of the tenant starts with. */
  systemTokens: number;
  /** Tokens of the user message, by class. */
  userTokens: Readonly<Record<RequestClass, Range>>;
  /** Extra requests in a span of the day: `factor` × the tenant's own rate then, on top of it. */
  spike?: { fromMin: number; toMin: number; factor: number };
  /** A daily cost budget (sized in budget.ts). */
  budgeted?: true;
}

const BUSINESS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 19, 16, 18, 20, 18, 14, 9, 6, 4, 3, 2, 1, 1];
const GLOBAL = [4, 3, 3, 3, 4, 5, 7, 9, 11, 12, 12, 12, 12, 13, 13, 13, 12, 11, 10, 9, 8, 7, 6, 5];
const PIPELINES = [10, 16, 18, 18, 16, 12, 6, 3, 2, 2, 2, 2, 2, 2, 2, 2, 3, 4, 5, 6, 8, 9, 10, 10];

const SIZES: Readonly<Record<RequestClass, Range>> = { interactive: [200, 1500], standard: [800, 3000], batch: [2000, 6000] };

export const TENANTS: readonly TenantSpec[] = [
  { id: "acme", share: 0.35, mix: { interactive: 0.75, standard: 0.25, batch: 0 }, curve: BUSINESS, systemTokens: 400, userTokens: SIZES },
  {
    id: "globex",
    share: 0.3,
    mix: { interactive: 0.2, standard: 0.8, batch: 0 },
    curve: GLOBAL,
    systemTokens: 600,
    userTokens: SIZES,
    spike: { fromMin: 14 * 60, toMin: 14 * 60 + 20, factor: 3 },
  },
  { id: "initech", share: 0.25, mix: { interactive: 0, standard: 0.1, batch: 0.9 }, curve: PIPELINES, systemTokens: 300, userTokens: SIZES },
  {
    id: "umbrella",
    share: 0.1,
    mix: { interactive: 0.35, standard: 0.55, batch: 0.1 },
    curve: BUSINESS,
    systemTokens: 500,
    userTokens: SIZES,
    budgeted: true,
  },
];

/** The output cap each class asks for (the simulator answers 8-32 tokens unless capped lower). */
export const MAX_TOKENS: Readonly<Record<RequestClass, Range>> = { interactive: [64, 256], standard: [128, 512], batch: [256, 1024] };

/** How long a batch request may take, submission to last token, in virtual time. */
export const BATCH_DEADLINE_MS = 2 * 3_600_000;
