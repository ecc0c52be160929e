/**
 * A scenario's `migration` block: moving it to a candidate origin (a self-hosted pool, or back to a
 * MaaS API) through stages, each of which decides what traffic the candidate gets (`derive.ts`).
 * Merged into `config/schema.ts`; stage moves go through the admin API (`routes/admin-migration.ts`).
 *
 *   discovery → draft → baseline → evals → canary → primary, and rolled-back from any of them
 *
 * - `discovery`, `draft`, `baseline`, `evals`: shadow copies of `shadowShare` of the requests go to
 *   the candidate, measured beside the answer the client got, never served (`shadowShare: 0` keeps
 *   production prompts away from a draft entirely).
 * - `canary`: the candidate serves `canary.share` of the requests first, the scenario's candidates
 *   are its fallback, and `canary.stop` stops it by itself.
 * - `primary`: the candidate serves first, the scenario's candidates are its fallback.
 * - `rolled-back`: the scenario's candidates alone, as written: the baseline.
 */
import { z } from "zod";
import { canaryStopSchema } from "../routing/schema";

export const STAGES = ["discovery", "draft", "baseline", "evals", "canary", "primary", "rolled-back"] as const;
export type Stage = (typeof STAGES)[number];

/** Stages in which the candidate gets shadow copies and serves nobody. */
export const SHADOW_STAGES: ReadonlySet<Stage> = new Set(["discovery", "draft", "baseline", "evals"]);

const share = z.number().min(0).max(1);

/**
 * What promotion from `evals` to `canary` asks of the candidate, measured on the shadowed requests
 * of the `evals` stage against the answers the clients got (see `criteria.ts`). Absent limits are
 * not checked; `minSamples` always is.
 */
export const evalCriteriaSchema = z
  .object({
    /** Paired requests (shadow and served answer) needed before a verdict. */
    minSamples: z.number().int().min(1).max(100_000).default(20),
    /** The candidate's error rate at most this. */
    errorRate: share.optional(),
    /** The candidate's TTFT 90th percentile at most this multiple of the baseline's. */
    ttftP90Ratio: z.number().gt(0).max(1000).optional(),
    /** The candidate's cost per request at most this multiple of the baseline's. */
    costRatio: z.number().min(0).max(1000).optional(),
    /** The mean text similarity of comparable answers (0..1) at least this. */
    agreement: share.optional(),
  })
  .strict();
export type EvalCriteria = z.infer<typeof evalCriteriaSchema>;

export const migrationSchema = z
  .object({
    /** Where the scenario is moving to: an origin that is not already one of its candidates. */
    candidate: z.object({ origin: z.string().min(1), model: z.string().min(1).max(256) }).strict(),
    stage: z.enum(STAGES),
    /** Who answers for the migration (a person or team, e.g. an e-mail address). */
    owner: z.string().min(1).max(200),
    /** Share of requests copied to the candidate in the shadow stages. */
    shadowShare: share.default(0.1),
    /** Promotion from `evals` to `canary` is refused while these fail (unless forced). */
    evals: evalCriteriaSchema.prefault({}),
    /** The canary stage's traffic share and self-stopping criteria (as a scenario's own `canary.stop`). */
    canary: z
      .object({ share: share.default(0.05), stop: canaryStopSchema.prefault({}) })
      .strict()
      .prefault({}),
  })
  .strict();

export type Migration = z.infer<typeof migrationSchema>;
