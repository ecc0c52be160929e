/**
 * `POST /<origin>/v1/chat/completions`: validates the request, runs the prompt through the origin's
 * prefix cache and prefill queue, and answers with deterministic choices (text, JSON or a function
 * call; see `answers.ts`), streamed or not, shaped by the origin's profile and paced by its timing.
 * Every planned request is counted in the origin's stats, and in flight until its body is over.
 */
import { z } from "zod";
import { pullStream } from "./body-stream";
import { planAnswers, type ChoiceAnswer } from "./answers";
import { streamEvents, untilLastToken } from "./chat-stream";
import type { RequestContext } from "./context";
import { errorResponse, invalidRequest } from "./errors";
import { jsonResponse } from "./faults";
import { PROFILE_SPECS, type ChatUsage } from "./profiles";
import { servePrompt } from "./prefix-cache";
import { promptSeed } from "./text";
import { tokenIntervalMs } from "./timing";
import { renderChatPrompt, utf8 } from "./tokens";

const ContentPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });

const MessageSchema = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(ContentPartSchema), z.null()]).optional(),
  // Rendered into the prompt as JSON (tokens.ts); their shape is the client's business.
  tool_calls: z.unknown().optional(),
  tool_call_id: z.unknown().optional(),
});

/**
 * The fields of a chat request the simulator reads; every other field is accepted and ignored.
 * `tools`, `tool_choice` and `response_format` are read leniently (entries it does not understand
 * are ignored, as by a permissive server), so odd values never turn into a 400.
 */
export const ChatRequestSchema = z
  .looseObject({
    model: z.string().min(1).optional(),
    messages: z.array(MessageSchema).min(1),
    stream: z.boolean().nullish(),
    stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    tools: z.array(z.unknown()).nullish(),
    tool_choice: z.unknown().optional(),
    response_format: z.unknown().optional(),
    // OpenAI's bounds: n up to 128, top_logprobs 0 to 20 and only with logprobs
    // (https://platform.openai.com/docs/api-reference/chat/create).
    n: z.number().int().min(1).max(128).nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
  })
  .refine((r) => r.top_logprobs == null || r.logprobs === true, {
    message: "'logprobs' must be true when 'top_logprobs' is set",
    path: ["top_logprobs"],
  });

/** A validated chat request. */
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** Everything decided about a completion before the first byte is sent. */
export interface ChatPlan {
  id: string;
  created: number;
  model: string;
  choices: ChoiceAnswer[];
  usage: ChatUsage;
  ttftMs: number;
  intervalMs: number;
}

/**
 * Serves one chat completion request whose JSON body has already been parsed.
 * @example
 * await handleChat({ model: "m", messages: [{ role: "user", content: "hi" }] }, ctx)
 */
export async function handleChat(body: unknown, ctx: RequestContext): Promise<Response> {
  const parsed = ChatRequestSchema.safeParse(body);
  if (!parsed.success) return invalidRequest("chat completion", parsed.error);
  const req = parsed.data;
  const started = startCompletion(req, ctx);
  if (started instanceof Response) return started;
  const { plan, end } = started;

  if (req.stream) {
    const includeUsage = req.stream_options?.include_usage === true || PROFILE_SPECS[ctx.origin.config.profile].streamUsage === "always";
    return eventStream(streamEvents(plan, includeUsage, ctx), ctx, end);
  }

  await untilLastToken(plan.choices, plan, ctx.lifetime.signal, end);
  return jsonResponse(JSON.stringify(completionOf(plan, ctx)), ctx.fault, ctx.lifetime, end);
}

/**
 * Plans a completion and counts it in flight until its body is over (`end`), whichever way it
 * ends; or the 400 of a request it cannot answer.
 */
export function startCompletion(req: ChatRequest, ctx: RequestContext): { plan: ChatPlan; end: () => void } | Response {
  const planned = planCompletion(req, ctx);
  if (!planned.ok) return errorResponse({ status: 400, message: planned.message, param: planned.param });
  const signal = ctx.lifetime.signal;
  // A client that goes away ends it too: a body nobody reads or cancels would otherwise count as
  // in flight forever.
  const end = ctx.origin.stats.begin();
  signal.addEventListener("abort", end, { once: true });
  if (signal.aborted) end();
  return { plan: planned.plan, end };
}

/** A streamed answer: headers go out at once; the TTFT wait happens inside the body, as with a real provider. */
export function eventStream(events: AsyncGenerator<Uint8Array, void, void>, ctx: RequestContext, end: () => void): Response {
  return new Response(pullStream(events, () => ctx.lifetime.abort(), end), {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

/** The non-streamed chat completion of a plan (without usage when the fault omits it). */
export function completionOf(plan: ChatPlan, ctx: RequestContext): Record<string, unknown> {
  return {
    id: plan.id,
    object: "chat.completion",
    created: plan.created,
    model: plan.model,
    choices: plan.choices.map((answer, index) => ({
      index,
      message: messageOf(answer),
      logprobs: answer.kind === "content" && answer.logprobs ? { content: answer.logprobs, refusal: null } : null,
      finish_reason: answer.finishReason,
    })),
    ...(ctx.fault?.omitUsage ? {} : { usage: plan.usage }),
  };
}

/** The assistant message of a non-streamed choice. */
function messageOf(answer: ChoiceAnswer): Record<string, unknown> {
  if (answer.kind === "content") return { role: "assistant", content: answer.tokens.join("") };
  return {
    role: "assistant",
    content: null,
    tool_calls: [{ id: answer.id, type: "function", function: { name: answer.name, arguments: answer.tokens.join("") } }],
  };
}

type Planned = { ok: true; plan: ChatPlan } | { ok: false; message: string; param: string };

/** Decides the whole answer, reserves its prefill slot and counts it in the origin's stats. */
function planCompletion(req: ChatRequest, ctx: RequestContext): Planned {
  const { config, cache, queue, stats } = ctx.origin;
  // Any model is accepted and echoed back; one that is left out falls back to the origin's first.
  const model = req.model ?? config.models[0] ?? "sim-model";
  const rendering = utf8(renderChatPrompt({ model, messages: req.messages, tools: req.tools }));
  // Decided before the cache is touched: a refused request leaves no trace in the origin's state.
  const answers = planAnswers(req, promptSeed(rendering), req.max_completion_tokens ?? req.max_tokens);
  if (!answers.ok) return answers;
  const { promptTokens, cachedTokens } = servePrompt(cache, rendering, config);
  const completionTokens = answers.answers.reduce((sum, a) => sum + a.tokens.length, 0);
  const usage = PROFILE_SPECS[config.profile].usage({ promptTokens, completionTokens, cachedTokens });
  // Prefill is paid only for what the cache did not hold, once a prefill slot is free. A fault's
  // `ttftMs` is an explicit override of the whole TTFT, so such a request neither waits nor holds a slot.
  const prefillMs = config.ttftBaseMs + (promptTokens - cachedTokens) * config.prefillMsPerToken;
  const queueWaitMs = ctx.fault?.ttftMs === undefined ? queue.reserve(ctx.now(), prefillMs).waitMs : 0;
  stats.recordPlan({ promptTokens, cachedTokens, completionTokens, queueWaitMs });
  return {
    ok: true,
    plan: {
      id: `chatcmpl-sim-${ctx.nextSeq()}`,
      created: Math.floor(ctx.now() / 1000),
      model,
      choices: answers.answers,
      usage,
      ttftMs: ctx.fault?.ttftMs ?? queueWaitMs + prefillMs,
      intervalMs: tokenIntervalMs(ctx.fault?.decodeTokensPerSec ?? config.decodeTokensPerSec),
    },
  };
}
