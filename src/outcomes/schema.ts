/**
 * Outcomes (issue #19 §1): what a tenant says of an answer (`POST /v1/feedback`), and the automatic
 * quality gates a scenario opts into. Merged into `config/schema.ts`: `outcomes` (deployment-wide
 * settings) and each scenario's `qualityGates`.
 */
import { z } from "zod";

/** The deployment's outcome settings. */
export const outcomesSettingsSchema = z
  .object({
    /**
     * How long after a request (its usage row's `at`) its tenant may rate it. Past it, feedback is
     * refused with 409 `feedback_window_closed`: figures already reported stay as they were.
     */
    feedbackWindowHours: z.number().int().min(1).max(8_760).default(168),
  })
  .strict();
export type OutcomesSettings = z.infer<typeof outcomesSettingsSchema>;

/**
 * A scenario's automatic judgments of each answer, all off unless named. Each one that applies to
 * an answer must pass for the answer to pass its gate; an answer none applies to is unchecked.
 */
export const qualityGatesSchema = z
  .object({
    /** When the request asked for JSON (`response_format` json_object or json_schema): the content parses, and matches the schema asked for. */
    json: z.boolean().default(false),
    /** The answer was not cut short by its output cap (`finish_reason` is not `length`). */
    finishReason: z.boolean().default(false),
    /** Every tool call's `arguments` parse as a JSON object. */
    toolArguments: z.boolean().default(false),
  })
  .strict();
export type QualityGates = z.infer<typeof qualityGatesSchema>;

/** `POST /v1/feedback`'s body. */
export const feedbackSchema = z
  .object({
    /** The request's `x-request-id`. */
    request_id: z.string().min(1).max(128),
    accepted: z.boolean(),
    /** A graded judgment beside the verdict, 0 (worst) to 1 (best). */
    score: z.number().min(0).max(1).optional(),
    /** Why, in the rater's words (kept in the usage row; never sent anywhere). */
    reason: z.string().max(1_000).optional(),
  })
  .strict();
export type FeedbackBody = z.infer<typeof feedbackSchema>;
