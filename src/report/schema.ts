/**
 * What the decision report (issue #19 §3) needs from the operator beyond the traffic: a pool's fixed
 * cost and throughput (`economics` on a self-hosted origin), and per scenario what the move would
 * cost besides the pool (`decision`). Merged into `config/schema.ts`.
 */
import { z } from "zod";

/** A self-hosted pool's economics: what one unit costs whether used or not, and what it serves. */
export const poolEconomicsSchema = z
  .object({
    /** One unit (a GPU node, a replica) per hour, USD, used or idle. */
    fixedUsdPerHour: z.number().min(0).max(100_000),
    /** Requests of this traffic one unit serves in an hour at full use (measured in a load test). */
    requestsPerHour: z.number().int().min(1).max(100_000_000),
  })
  .strict();

export const decisionSettingsSchema = z
  .object({
    /** Engineering and observability the self-hosted option costs each month, USD (what operators forget). */
    overheadUsdPerMonth: z.number().min(0).max(100_000_000).default(0),
    /** Capacity held above the peak hour (0.3: 30 % more). */
    peakReserve: z.number().min(0).max(10).default(0.3),
    /** Staging, test and canary capacity, as a share on top of production's. */
    stagingShare: z.number().min(0).max(10).default(0.2),
    /** Fewer requests than this in the window: the report says the data is insufficient. */
    minRequests: z.number().int().min(1).max(100_000_000).default(100),
    /** Fewer rated answers than this on an origin: its acceptance is not used. */
    minRated: z.number().int().min(1).max(100_000_000).default(20),
    /** A pool whose acceptance rate is this much below the MaaS one is not recommended, whatever it saves. */
    acceptanceTolerance: z.number().min(0).max(1).default(0.05),
    /**
     * The share of the scenario's work that is not urgent (could wait for a batch or a cheaper
     * window), as the operator knows it; the report takes the larger of this and the share that
     * already came through the Batch API.
     */
    deferrableShare: z.number().min(0).max(1).default(0),
  })
  .strict();
export type DecisionSettings = z.infer<typeof decisionSettingsSchema>;
