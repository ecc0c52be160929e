/**
 * The routing parts of the config: an origin's capacity, time windows and TTFT prior; a scenario's
 * SLO, degrade path, canary, shadow and flex wait. Merged into `config/schema.ts`.
 */
import { z } from "zod";
import { circuitOptionsSchema } from "../health/circuit";
import { windowEndsDiffer, windowEndsDifferIssue, windowShape } from "../time/window";
import { PRIORITY_CLASSES } from "./priority";

/** A window in which an origin behaves differently: shared with other work, reserved, or closed. */
export const originWindowSchema = z
  .object({
    ...windowShape,
    /** Multiplies `capacity` (0.25: a pool that other teams use in office hours). */
    capacityMultiplier: z.number().min(0).max(100).optional(),
    /** Only these classes may use the origin during the window (a pool reserved for interactive traffic). */
    reservedFor: z.array(z.enum(PRIORITY_CLASSES)).min(1).optional(),
    /** Not to be used at all (maintenance, a provider's peak hours). */
    closed: z.boolean().optional(),
  })
  .strict()
  .refine(windowEndsDiffer, windowEndsDifferIssue);
export type OriginWindow = z.infer<typeof originWindowSchema>;

export const originRoutingShape = {
  /** Requests in flight it carries comfortably; load beyond it is penalised. Absent: unbounded (a MaaS API). */
  capacity: z.number().int().min(1).max(1_000_000).optional(),
  /** The TTFT assumed before the router has measured any (ms). */
  expectedTtftMs: z.number().int().min(1).max(600_000).default(1000),
  windows: z.array(originWindowSchema).default(() => []),
  /** Circuit breaker settings (see src/health/circuit.ts); absent: the defaults. */
  circuit: circuitOptionsSchema.optional(),
};

const share = z.number().min(0).max(1);

/** A canary stops by itself when one of these trips over its last `minSamples` requests or more. */
export const canaryStopSchema = z
  .object({
    errorRate: share.optional(),
    ttftMs: z.number().int().min(1).optional(),
    costMicrosPerRequest: z.number().int().min(0).optional(),
    minSamples: z.number().int().min(1).max(100_000).default(20),
    /**
     * Stops the canary when its acceptance rate of this scenario's answers falls more than this
     * below the baseline's (0.1: ten points): human feedback, and the quality gates' pass rate,
     * each compared on its own once both sides have `minRated` judged answers.
     */
    acceptanceDrop: share.optional(),
    /** Judged answers (rated, or gated) each side needs before `acceptanceDrop` is compared. */
    minRated: z.number().int().min(1).max(100_000).default(20),
  })
  .strict();

export const canarySchema = z
  .object({
    origin: z.string().min(1),
    model: z.string().min(1).max(256),
    /** Share of the scenario's requests the canary serves first (0.05 = 5 %). */
    share,
    stop: canaryStopSchema.prefault({}),
  })
  .strict();

export const shadowSchema = z
  .object({
    origin: z.string().min(1),
    model: z.string().min(1).max(256),
    /** Share of requests mirrored to it; its answers are measured and discarded. */
    share,
  })
  .strict();

export const scenarioRoutingShape = {
  /**
   * `scored` (default): candidates are ordered per request by the class's objective (price, TTFT
   * and its stability, errors, load). `ordered`: the listed order is kept, a plain failover chain;
   * rules (boundary, windows, open circuits, degrade) still apply.
   */
  routing: z.enum(["scored", "ordered"]).default("scored"),
  /** Interactive requests avoid origins whose predicted TTFT exceeds this (unless none is left). */
  slo: z.object({ ttftMs: z.number().int().min(1).max(600_000) }).strict().optional(),
  /** Origins to keep once the tenant's budget is past its soft limit (the cheaper ones). */
  degrade: z.array(z.string().min(1)).min(1).optional(),
  canary: canarySchema.optional(),
  shadow: shadowSchema.optional(),
  /** How long a batch (`flex`) request may wait for capacity or a cheaper window instead of failing. */
  flex: z.object({ maxWaitMs: z.number().int().min(0).max(600_000) }).strict().optional(),
};
