/**
 * The fields of a request that say who it is for, as OpenAI defines them (chat completions,
 * Responses, legacy completions): bounded, because the usage log keeps them. No imports but zod:
 * the simulator reads Responses requests with the same schemas.
 */
import { z } from "zod";

/** Most characters of `user` the usage log keeps (it is filtered and grouped by). */
export const MAX_USER_CHARS = 256;

/** OpenAI's `user`: a stable id of the end user, kept in the usage log. */
export const userSchema = z.string().max(MAX_USER_CHARS, `at most ${MAX_USER_CHARS} characters`);

/**
 * OpenAI's `metadata` (chat completions, Responses): at most 16 pairs, keys up to 64 characters,
 * values up to 512 (https://platform.openai.com/docs/api-reference/chat/create#chat-create-metadata).
 * The usage log keeps it, so the bounds are enforced on every endpoint that carries it.
 */
export const metadataSchema = z
  .record(z.string().min(1).max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, "at most 16 key-value pairs");

