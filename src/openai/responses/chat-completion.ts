/**
 * The parts of an origin's chat completion (and of its streamed chunks) that a Responses answer is
 * made of (https://platform.openai.com/docs/api-reference/chat/object and `/chat-streaming`).
 * Loose: fields not read here are allowed, and a provider's extra fields never fail validation.
 */
import { z } from "zod";

const topLogprobSchema = z.looseObject({ token: z.string(), logprob: z.number(), bytes: z.array(z.number()).nullish() });

/** One token's logprob in a chat choice (`choices[].logprobs.content[]`). */
export const chatLogprobSchema = z.looseObject({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number()).nullish(),
  top_logprobs: z.array(topLogprobSchema).nullish(),
});
/** A token's logprob. */
export type ChatLogprob = z.infer<typeof chatLogprobSchema>;

const choiceLogprobsSchema = z.looseObject({ content: z.array(chatLogprobSchema).nullish() }).nullish();

/** `usage` of a chat completion, with OpenAI's and DeepSeek's cache fields. */
export const chatUsageSchema = z.looseObject({
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  total_tokens: z.number().int().min(0).nullish(),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().int().min(0).nullish() }).nullish(),
  // DeepSeek reports cache hits as `prompt_cache_hit_tokens` (https://api-docs.deepseek.com/guides/kv_cache).
  prompt_cache_hit_tokens: z.number().int().min(0).nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: z.number().int().min(0).nullish() }).nullish(),
});
/** Chat usage. */
export type ChatUsage = z.infer<typeof chatUsageSchema>;

const toolCallSchema = z.looseObject({
  id: z.string().nullish(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

/** A non-streamed chat completion. */
export const chatCompletionSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        message: z.looseObject({
          content: z.string().nullish(),
          refusal: z.string().nullish(),
          tool_calls: z.array(toolCallSchema).nullish(),
        }),
        finish_reason: z.string().nullish(),
        logprobs: choiceLogprobsSchema,
      }),
    )
    .min(1),
  usage: chatUsageSchema.nullish(),
});
/** A chat completion. */
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;

const toolCallDeltaSchema = z.looseObject({
  index: z.number().int().min(0),
  id: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

/** One streamed chunk (`chat.completion.chunk`), the usage chunk (`choices: []`) included. */
export const chatCompletionChunkSchema = z.looseObject({
  choices: z.array(
    z.looseObject({
      index: z.number().int().min(0),
      delta: z
        .looseObject({
          content: z.string().nullish(),
          refusal: z.string().nullish(),
          tool_calls: z.array(toolCallDeltaSchema).nullish(),
        })
        .nullish(),
      finish_reason: z.string().nullish(),
      logprobs: choiceLogprobsSchema,
    }),
  ),
  usage: chatUsageSchema.nullish(),
});
/** A streamed chunk. */
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;
