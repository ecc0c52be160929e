/**
 * The SSE events of a streamed chat completion, in OpenAI's order and shapes
 * (https://platform.openai.com/docs/api-reference/chat-streaming):
 *
 * 1. each choice's opening chunk, in index order: `{role: "assistant", content: ""}` for content;
 *    for a function call, `{role: "assistant", content: null, tool_calls: [{index: 0, id, type:
 *    "function", function: {name, arguments: ""}}]}`, as OpenAI opens one;
 * 2. the token chunks, round by round (round r carries token r of every choice that has one, in
 *    index order; one decode interval before each round but the first): `{content: token}`, or
 *    `{tool_calls: [{index: 0, function: {arguments: token}}]}` for a call's arguments;
 * 3. each choice's finish chunk `{}` with its `finish_reason`, in index order;
 * 4. the usage chunk (`choices: []`), only when asked for; then `[DONE]`.
 *
 * Every chunk carries one choice. With `include_usage`, every chunk before the usage chunk carries
 * `"usage": null`, as OpenAI's do. A content token chunk carries `logprobs: {content: [entry],
 * refusal: null}` when logprobs were asked for; every other chunk `logprobs: null`.
 *
 * Faults count token chunks over all choices: `cutAfterChunks: N` throws after N token chunks (the
 * stream errors, the connection breaks); `stallAfterChunks: N` hangs there until the client goes
 * away; `errorEventAfterChunks: N` sends an SSE error event there and ends. N is clamped to the
 * number of token chunks, so a large N breaks just before the finish chunks.
 */
import type { ChoiceAnswer } from "./answers";
import { SimulatedCutError, sseEvent } from "./body-stream";
import type { ChatPlan } from "./chat";
import type { RequestContext } from "./context";
import { sleep, untilAborted } from "./timing";

/** One token chunk of the stream: which choice, which of its tokens. */
export interface TokenStep {
  choice: number;
  position: number;
  /** The first chunk of a round after the first: a decode interval comes before it. */
  waits: boolean;
}

/** The token chunks in stream order: round by round, choices in index order within a round. */
function tokenSteps(choices: ReadonlyArray<{ tokens: readonly string[] }>): TokenStep[] {
  const steps: TokenStep[] = [];
  const rounds = Math.max(0, ...choices.map((c) => c.tokens.length));
  for (let position = 0; position < rounds; position++) {
    let first = true;
    choices.forEach((c, choice) => {
      if (position >= c.tokens.length) return;
      steps.push({ choice, position, waits: first && position > 0 });
      first = false;
    });
  }
  return steps;
}

/** How one kind of stream writes its chunks (chat completions, legacy completions). */
export interface StreamShape {
  /** Choice `index`'s opening chunk, when the kind has one. */
  opening(index: number): Uint8Array | null;
  /** A token chunk. */
  token(step: TokenStep): Uint8Array;
  /** Choice `index`'s finish chunk. */
  finish(index: number): Uint8Array;
  /** The usage chunk, when the client asked for it. */
  usage(): Uint8Array | null;
  /** The stream's end; chat's `[DONE]` when absent. */
  end?(): Uint8Array;
  /** The error event of an `errorEventAfterChunks` fault; chat's `{"error": …}` when absent. */
  error?(message: string): Uint8Array;
}

/**
 * A stream's events in the order above, paced by `timing`, with the request's faults applied; the
 * chunks themselves come from `shape`.
 */
export async function* pacedEvents(
  choices: ReadonlyArray<{ tokens: readonly string[] }>,
  timing: { ttftMs: number; intervalMs: number },
  shape: StreamShape,
  ctx: RequestContext,
): AsyncGenerator<Uint8Array, void, void> {
  const { fault, lifetime } = ctx;
  const signal = lifetime.signal;
  const steps = tokenSteps(choices);
  const n = steps.length;
  const cutAt = fault?.cutAfterChunks === undefined ? -1 : Math.min(fault.cutAfterChunks, n);
  const stallAt = fault?.stallAfterChunks === undefined ? -1 : Math.min(fault.stallAfterChunks, n);
  const errorAt = fault?.errorEventAfterChunks === undefined ? -1 : Math.min(fault.errorEventAfterChunks, n);

  await sleep(timing.ttftMs, signal);
  for (let index = 0; index < choices.length; index++) {
    const opening = shape.opening(index);
    if (opening) yield opening;
  }
  for (let i = 0; i <= n; i++) {
    if (i === cutAt) throw new SimulatedCutError(`sim fault: stream cut after ${i} token chunks`);
    if (i === stallAt) await untilAborted(signal);
    if (i === errorAt) {
      const message = fault?.message ?? "The server had an error while streaming (sim fault).";
      yield shape.error?.(message) ?? sseEvent(JSON.stringify({ error: { message, type: "server_error", param: null, code: null } }));
      return;
    }
    const step = steps[i];
    if (!step) break;
    // A round is one decode step: every choice's next token is decoded at once.
    if (step.waits) await sleep(timing.intervalMs, signal);
    yield shape.token(step);
  }
  for (let index = 0; index < choices.length; index++) yield shape.finish(index);
  const usage = fault?.omitUsage ? null : shape.usage();
  if (usage) yield usage;
  yield shape.end?.() ?? sseEvent("[DONE]");
}

/**
 * Waits until the last token of a plain (not streamed) answer would have been streamed: choices
 * decode together. `end` runs when the wait is cut short (the client went away), before the throw.
 */
export async function untilLastToken(choices: ReadonlyArray<{ tokens: readonly string[] }>, timing: { ttftMs: number; intervalMs: number }, signal: AbortSignal, end: () => void): Promise<void> {
  const longest = Math.max(...choices.map((c) => c.tokens.length));
  try {
    await sleep(timing.ttftMs + Math.max(0, longest - 1) * timing.intervalMs, signal);
  } catch (err) {
    end();
    throw err;
  }
}

function openingDelta(answer: ChoiceAnswer): Record<string, unknown> {
  if (answer.kind === "content") return { role: "assistant", content: "" };
  return {
    role: "assistant",
    content: null,
    tool_calls: [{ index: 0, id: answer.id, type: "function", function: { name: answer.name, arguments: "" } }],
  };
}

/**
 * The events of a streamed chat completion (the order above), paced by the plan's timing.
 * @example
 * new Response(pullStream(streamEvents(plan, true, ctx), () => ctx.lifetime.abort()))
 */
export function streamEvents(plan: ChatPlan, includeUsage: boolean, ctx: RequestContext): AsyncGenerator<Uint8Array, void, void> {
  return pacedEvents(plan.choices, plan, chatChunks(plan, includeUsage, (chunk) => sseEvent(JSON.stringify(chunk))), ctx);
}

/**
 * The chunks of a streamed chat completion (the order above), each made into bytes by `encode`:
 * chat's own SSE, or the Responses events they translate to (`responses.ts`).
 */
export function chatChunks(plan: ChatPlan, includeUsage: boolean, encode: (chunk: Record<string, unknown>) => Uint8Array): StreamShape {
  const head = { id: plan.id, object: "chat.completion.chunk", created: plan.created, model: plan.model };
  const nullUsage = includeUsage ? { usage: null } : {};
  const chunk = (index: number, delta: Record<string, unknown>, logprobs: unknown, finishReason: string | null): Uint8Array =>
    encode({ ...head, choices: [{ index, delta, logprobs, finish_reason: finishReason }], ...nullUsage });
  return {
    opening: (index) => chunk(index, openingDelta(plan.choices[index]!), null, null),
    token: ({ choice, position }) => {
      const answer = plan.choices[choice]!;
      const token = answer.tokens[position] ?? "";
      if (answer.kind !== "content") return chunk(choice, { tool_calls: [{ index: 0, function: { arguments: token } }] }, null, null);
      const entry = answer.logprobs?.[position];
      return chunk(choice, { content: token }, entry ? { content: [entry], refusal: null } : null, null);
    },
    finish: (index) => chunk(index, {}, null, plan.choices[index]!.finishReason),
    usage: () => (includeUsage ? encode({ ...head, choices: [], usage: plan.usage }) : null),
  };
}
