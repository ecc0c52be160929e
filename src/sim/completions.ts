/**
 * `POST /<origin>/v1/completions`, the legacy completions endpoint
 * (https://platform.openai.com/docs/api-reference/completions/create), as vLLM and SGLang still
 * serve it: each prompt answered with `n` seeded texts, streamed or not, through the origin's
 * prefix cache and prefill queue like chat.
 *
 * THE RULES.
 * - Prompts: a string is one prompt, an array of strings one per string; a token array is one
 *   prompt, an array of token arrays one per array; a token array is rendered as its numbers joined
 *   by spaces. Prompt p's rendering is `model + text` (+ `suffix`), counted and cached as chat's is.
 * - Choice `p × n + i` answers prompt p with `generateCompletion(choiceSeed(seed_p, i), cap)`, the
 *   cap being `max_tokens` (16 when absent, OpenAI's default); `echo` puts the prompt before it.
 *   `logprobs` is accepted and answered with null. `best_of` is accepted and not generated.
 * - Usage sums every prompt's tokens and every choice's tokens, shaped by the origin's profile.
 * - Streamed: the token chunks round by round (`{text, index, logprobs: null, finish_reason: null}`),
 *   each choice's finish chunk (`text: ""` and its `finish_reason`), the usage chunk (`choices: []`)
 *   only with `stream_options.include_usage`, then `[DONE]`; the faults apply as to chat streams.
 */
import { z } from "zod";
import { choiceSeed } from "./answers";
import { pullStream, sseEvent } from "./body-stream";
import { pacedEvents, untilLastToken } from "./chat-stream";
import type { RequestContext } from "./context";
import { invalidRequest } from "./errors";
import { jsonResponse } from "./faults";
import { servePrompt } from "./prefix-cache";
import { PROFILE_SPECS } from "./profiles";
import { generateCompletion, promptSeed } from "./text";
import { tokenIntervalMs } from "./timing";
import { utf8 } from "./tokens";

const tokenArray = z.array(z.number().int().min(0));

/** The fields of a legacy completions request the simulator reads; others are accepted and ignored. */
export const CompletionsRequestSchema = z.looseObject({
  model: z.string().min(1).optional(),
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenArray.min(1), z.array(tokenArray).min(1)]),
  suffix: z.string().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  echo: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
});

/** OpenAI's default `max_tokens` on this endpoint. */
const DEFAULT_MAX_TOKENS = 16;

/** The prompts of a request, as text. */
function promptTexts(prompt: z.infer<typeof CompletionsRequestSchema>["prompt"]): string[] {
  if (typeof prompt === "string") return [prompt];
  if (prompt.every((p): p is number => typeof p === "number")) return [prompt.join(" ")];
  return (prompt as Array<string | number[]>).map((p) => (typeof p === "string" ? p : p.join(" ")));
}

/**
 * Serves one legacy completions request whose JSON body has already been parsed.
 * @example
 * await handleCompletions({ model: "m", prompt: "Once upon a time" }, ctx)
 */
export async function handleCompletions(body: unknown, ctx: RequestContext): Promise<Response> {
  const parsed = CompletionsRequestSchema.safeParse(body);
  if (!parsed.success) return invalidRequest("completions", parsed.error);
  const req = parsed.data;
  const { config, cache, queue, stats } = ctx.origin;
  const model = req.model ?? config.models[0] ?? "sim-model";
  const n = req.n ?? 1;
  const cap = req.max_tokens ?? DEFAULT_MAX_TOKENS;
  const prompts = promptTexts(req.prompt);
  let promptTokens = 0;
  let cachedTokens = 0;
  const choices: Array<{ tokens: string[]; finishReason: "stop" | "length"; prefix: string }> = [];
  for (const text of prompts) {
    const rendering = utf8(`${model}${text}${req.suffix ?? ""}`);
    const served = servePrompt(cache, rendering, config);
    promptTokens += served.promptTokens;
    cachedTokens += served.cachedTokens;
    const seed = promptSeed(rendering);
    for (let i = 0; i < n; i++) {
      const completion = generateCompletion(choiceSeed(seed, i), cap);
      choices.push({ tokens: completion.tokens, finishReason: completion.finishReason, prefix: req.echo ? text : "" });
    }
  }
  const completionTokens = choices.reduce((sum, c) => sum + c.tokens.length, 0);
  const usage = PROFILE_SPECS[config.profile].usage({ promptTokens, completionTokens, cachedTokens });
  const prefillMs = config.ttftBaseMs + (promptTokens - cachedTokens) * config.prefillMsPerToken;
  const queueWaitMs = ctx.fault?.ttftMs === undefined ? queue.reserve(ctx.now(), prefillMs).waitMs : 0;
  stats.recordPlan({ promptTokens, cachedTokens, completionTokens, queueWaitMs });
  const timing = { ttftMs: ctx.fault?.ttftMs ?? queueWaitMs + prefillMs, intervalMs: tokenIntervalMs(ctx.fault?.decodeTokensPerSec ?? config.decodeTokensPerSec) };
  const head = { id: `cmpl-sim-${ctx.nextSeq()}`, object: "text_completion", created: Math.floor(ctx.now() / 1000), model };

  const signal = ctx.lifetime.signal;
  const end = stats.begin();
  signal.addEventListener("abort", end, { once: true });
  if (signal.aborted) end();

  if (req.stream) {
    const includeUsage = req.stream_options?.include_usage === true || PROFILE_SPECS[ctx.origin.config.profile].streamUsage === "always";
    const chunk = (index: number, text: string, finishReason: string | null) =>
      sseEvent(JSON.stringify({ ...head, choices: [{ text, index, logprobs: null, finish_reason: finishReason }] }));
    const events = pacedEvents(choices, timing, {
      // With `echo`, the prompt comes first, as its own chunk.
      opening: (index) => (choices[index]!.prefix ? chunk(index, choices[index]!.prefix, null) : null),
      token: ({ choice, position }) => chunk(choice, choices[choice]!.tokens[position] ?? "", null),
      finish: (index) => chunk(index, "", choices[index]!.finishReason),
      usage: () => (includeUsage ? sseEvent(JSON.stringify({ ...head, choices: [], usage })) : null),
    }, ctx);
    return new Response(pullStream(events, () => ctx.lifetime.abort(), end), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  }

  await untilLastToken(choices, timing, signal, end);
  const completion = {
    ...head,
    choices: choices.map((c, index) => ({ text: c.prefix + c.tokens.join(""), index, logprobs: null, finish_reason: c.finishReason })),
    ...(ctx.fault?.omitUsage ? {} : { usage }),
  };
  return jsonResponse(JSON.stringify(completion), ctx.fault, ctx.lifetime, end);
}
