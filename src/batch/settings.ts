/**
 * The Batch API's settings in the routing config (`batches`): how much one input file may hold,
 * how many of a tenant's lines run at once, and how much of a batch's completion window is kept
 * for running what is left whatever it costs.
 */
import { z } from "zod";

const MiB = 1024 * 1024;

export const batchSettingsSchema = z
  .object({
    /**
     * Largest input file (`POST /v1/files`, purpose `batch`), in bytes. The upload is read whole and
     * handed to the tenant's batch object in one call, whose messages are capped at 32 MiB.
     */
    maxFileBytes: z.number().int().min(1024).max(24 * MiB).default(16 * MiB),
    /** Most requests (lines) in one input file: OpenAI's own limit is 50,000. */
    maxLines: z.number().int().min(1).max(50_000).default(50_000),
    /** Largest line, in bytes (a Durable Object's SQLite value holds at most 2 MB). */
    maxLineBytes: z.number().int().min(256).max(MiB).default(MiB),
    /** A tenant's batch lines in flight at once. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /**
     * The end of a completion window kept for running what is left: a batch waits for a cheaper
     * window only if it opens this long before the batch's deadline.
     */
    reserveMs: z.number().int().min(0).max(23 * 3_600_000).default(2 * 3_600_000),
  })
  .strict();

export type BatchSettings = z.infer<typeof batchSettingsSchema>;
