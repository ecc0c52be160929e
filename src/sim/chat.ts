/**
 * `POST /<origin>/v1/chat/completions`: validates the request, runs the prompt through the origin's
 * prefix cache and prefill queue, and answers with a deterministic completion, streamed or not,
 * shaped by the origin's profile and paced by its timing. Every planned request is counted in the
 * origin's stats, and in flight until its body is over.
 */
import { z } from "zod";
import { pullStream, SimulatedCutError, sseEvent } from "./body-stream";
import type { RequestContext } from "./context";
import { errorResponse } from "./errors";
import { jsonResponse } from "./faults";
import { PROFILE_SPECS, type ChatUsage } from "./profiles";
import { servePrompt } from "./prefix-cache";
import { generateCompletion, promptSeed } from "./text";
import { sleep, tokenIntervalMs, untilAborted } from "./timing";
import { renderChatPrompt, utf8 } from "./tokens";

const ContentPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });

const MessageSchema = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(ContentPartSchema), z.null()]).optional(),
});

/** The fields of a chat request the simulator reads; every other field is accepted and ignored. */
export const ChatRequestSchema = z.looseObject({
  model: z.string().min(1).optional(),
  messages: z.array(MessageSchema).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  tools: z.array(z.unknown()).nullish(),
});

/** A validated chat request. */
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** Everything decided about a completion before the first byte is sent. */
interface ChatPlan {
  id: string;
  created: number;
  model: string;
  tokens: string[];
  finishReason: "stop" | "length";
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
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return errorResponse({
      status: 400,
      message: `Invalid chat completion request: ${z.prettifyError(parsed.error)}`,
      param: issue && issue.path.length > 0 ? issue.path.join(".") : null,
    });
  }
  const req = parsed.data;
  const plan = planCompletion(req, ctx);
  const signal = ctx.lifetime.signal;
  // In flight until the body is over, whichever way it ends. A client that goes away ends it too:
  // a body nobody reads or cancels would otherwise count as in flight forever.
  const end = ctx.origin.stats.begin();
  signal.addEventListener("abort", end, { once: true });
  if (signal.aborted) end();

  if (req.stream) {
    const includeUsage = req.stream_options?.include_usage === true;
    // Headers go out at once; the TTFT wait happens inside the body, as with a real provider.
    return new Response(pullStream(streamEvents(plan, includeUsage, ctx), () => ctx.lifetime.abort(), end), {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  }

  // A plain response arrives when the last token would have been streamed.
  try {
    await sleep(plan.ttftMs + Math.max(0, plan.tokens.length - 1) * plan.intervalMs, signal);
  } catch (err) {
    end();
    throw err;
  }
  const completion = {
    id: plan.id,
    object: "chat.completion",
    created: plan.created,
    model: plan.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: plan.tokens.join("") },
        logprobs: null,
        finish_reason: plan.finishReason,
      },
    ],
    ...(ctx.fault?.omitUsage ? {} : { usage: plan.usage }),
  };
  return jsonResponse(JSON.stringify(completion), ctx.fault, ctx.lifetime, end);
}

/** Decides the whole answer, reserves its prefill slot and counts it in the origin's stats. */
function planCompletion(req: ChatRequest, ctx: RequestContext): ChatPlan {
  const { config, cache, queue, stats } = ctx.origin;
  // Any model is accepted and echoed back; one that is left out falls back to the origin's first.
  const model = req.model ?? config.models[0] ?? "sim-model";
  const rendering = utf8(renderChatPrompt({ model, messages: req.messages, tools: req.tools }));
  const { promptTokens, cachedTokens } = servePrompt(cache, rendering, config);
  const completion = generateCompletion(promptSeed(rendering), req.max_completion_tokens ?? req.max_tokens);
  const usage = PROFILE_SPECS[config.profile].usage({
    promptTokens,
    completionTokens: completion.tokens.length,
    cachedTokens,
  });
  // Prefill is paid only for what the cache did not hold, once a prefill slot is free. A fault's
  // `ttftMs` is an explicit override of the whole TTFT, so such a request neither waits nor holds a slot.
  const prefillMs = config.ttftBaseMs + (promptTokens - cachedTokens) * config.prefillMsPerToken;
  const queueWaitMs = ctx.fault?.ttftMs === undefined ? queue.reserve(ctx.now(), prefillMs).waitMs : 0;
  stats.recordPlan({ promptTokens, cachedTokens, completionTokens: completion.tokens.length, queueWaitMs });
  return {
    id: `chatcmpl-sim-${ctx.nextSeq()}`,
    created: Math.floor(ctx.now() / 1000),
    model,
    tokens: completion.tokens,
    finishReason: completion.finishReason,
    usage,
    ttftMs: ctx.fault?.ttftMs ?? queueWaitMs + prefillMs,
    intervalMs: tokenIntervalMs(ctx.fault?.decodeTokensPerSec ?? config.decodeTokensPerSec),
  };
}

/**
 * The SSE events of a streamed completion, in OpenAI's order: a role chunk, one chunk per token, a
 * finish chunk, the usage chunk (only when asked for), then `[DONE]`. With `include_usage`, every
 * chunk before the usage chunk carries `"usage": null`, as OpenAI's do.
 *
 * Faults: `cutAfterChunks: N` throws after N token chunks (the stream errors, the connection
 * breaks); `stallAfterChunks: N` hangs there until the client goes away. N is clamped to the
 * completion length, so a large N breaks just before the finish chunk.
 */
async function* streamEvents(
  plan: ChatPlan,
  includeUsage: boolean,
  ctx: RequestContext,
): AsyncGenerator<Uint8Array, void, void> {
  const { fault, lifetime } = ctx;
  const signal = lifetime.signal;
  const head = { id: plan.id, object: "chat.completion.chunk", created: plan.created, model: plan.model };
  const nullUsage = includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, string>, finishReason: string | null): Uint8Array =>
    sseEvent(
      JSON.stringify({
        ...head,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        ...nullUsage,
      }),
    );
  const n = plan.tokens.length;
  const cutAt = fault?.cutAfterChunks === undefined ? -1 : Math.min(fault.cutAfterChunks, n);
  const stallAt = fault?.stallAfterChunks === undefined ? -1 : Math.min(fault.stallAfterChunks, n);
  const errorAt = fault?.errorEventAfterChunks === undefined ? -1 : Math.min(fault.errorEventAfterChunks, n);

  await sleep(plan.ttftMs, signal);
  yield chunk({ role: "assistant", content: "" }, null);
  for (let i = 0; i <= n; i++) {
    if (i === cutAt) throw new SimulatedCutError(`sim fault: stream cut after ${i} token chunks`);
    if (i === stallAt) await untilAborted(signal);
    if (i === errorAt) {
      yield sseEvent(JSON.stringify({ error: { message: fault?.message ?? "The server had an error while streaming (sim fault).", type: "server_error", param: null, code: null } }));
      return;
    }
    if (i === n) break;
    if (i > 0) await sleep(plan.intervalMs, signal);
    yield chunk({ content: plan.tokens[i] ?? "" }, null);
  }
  yield chunk({}, plan.finishReason);
  if (includeUsage && !fault?.omitUsage) {
    yield sseEvent(JSON.stringify({ ...head, choices: [], usage: plan.usage }));
  }
  yield sseEvent("[DONE]");
}
