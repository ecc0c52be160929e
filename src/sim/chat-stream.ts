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
interface TokenStep {
  choice: number;
  position: number;
  /** The first chunk of a round after the first: a decode interval comes before it. */
  waits: boolean;
}

/** The token chunks in stream order: round by round, choices in index order within a round. */
function tokenSteps(choices: readonly ChoiceAnswer[]): TokenStep[] {
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

function openingDelta(answer: ChoiceAnswer): Record<string, unknown> {
  if (answer.kind === "content") return { role: "assistant", content: "" };
  return {
    role: "assistant",
    content: null,
    tool_calls: [{ index: 0, id: answer.id, type: "function", function: { name: answer.name, arguments: "" } }],
  };
}

/**
 * The events of a streamed completion (the order above), paced by the plan's timing.
 * @example
 * new Response(pullStream(streamEvents(plan, true, ctx), () => ctx.lifetime.abort()))
 */
export async function* streamEvents(
  plan: ChatPlan,
  includeUsage: boolean,
  ctx: RequestContext,
): AsyncGenerator<Uint8Array, void, void> {
  const { fault, lifetime } = ctx;
  const signal = lifetime.signal;
  const head = { id: plan.id, object: "chat.completion.chunk", created: plan.created, model: plan.model };
  const nullUsage = includeUsage ? { usage: null } : {};
  const chunk = (index: number, delta: Record<string, unknown>, logprobs: unknown, finishReason: string | null): Uint8Array =>
    sseEvent(JSON.stringify({ ...head, choices: [{ index, delta, logprobs, finish_reason: finishReason }], ...nullUsage }));
  const steps = tokenSteps(plan.choices);
  const n = steps.length;
  const cutAt = fault?.cutAfterChunks === undefined ? -1 : Math.min(fault.cutAfterChunks, n);
  const stallAt = fault?.stallAfterChunks === undefined ? -1 : Math.min(fault.stallAfterChunks, n);
  const errorAt = fault?.errorEventAfterChunks === undefined ? -1 : Math.min(fault.errorEventAfterChunks, n);

  await sleep(plan.ttftMs, signal);
  for (const [index, answer] of plan.choices.entries()) yield chunk(index, openingDelta(answer), null, null);
  for (let i = 0; i <= n; i++) {
    if (i === cutAt) throw new SimulatedCutError(`sim fault: stream cut after ${i} token chunks`);
    if (i === stallAt) await untilAborted(signal);
    if (i === errorAt) {
      yield sseEvent(JSON.stringify({ error: { message: fault?.message ?? "The server had an error while streaming (sim fault).", type: "server_error", param: null, code: null } }));
      return;
    }
    const step = steps[i];
    if (!step) break;
    // A round is one decode step: every choice's next token is decoded at once.
    if (step.waits) await sleep(plan.intervalMs, signal);
    const answer = plan.choices[step.choice]!;
    const token = answer.tokens[step.position] ?? "";
    if (answer.kind === "content") {
      const entry = answer.logprobs?.[step.position];
      yield chunk(step.choice, { content: token }, entry ? { content: [entry], refusal: null } : null, null);
    } else {
      yield chunk(step.choice, { tool_calls: [{ index: 0, function: { arguments: token } }] }, null, null);
    }
  }
  for (const [index, answer] of plan.choices.entries()) yield chunk(index, {}, null, answer.finishReason);
  if (includeUsage && !fault?.omitUsage) {
    yield sseEvent(JSON.stringify({ ...head, choices: [], usage: plan.usage }));
  }
  yield sseEvent("[DONE]");
}
