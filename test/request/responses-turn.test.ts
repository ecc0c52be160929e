/** Preparing a Responses request (src/request/responses-turn.ts): ids, the storage bound, the chain's failures. */
import { describe, expect, it } from "vitest";
import { RouterError } from "../../src/openai/errors";
import { MAX_STORED_REQUEST_BYTES, responseIdOf, responsesTurn } from "../../src/request/responses-turn";

const ctx = { requestId: "req_0123456789abcdef0123456789abcdef", startedAt: 1_700_000_000_500 };
const noChain = { ledger: { responseChain: async () => ({ ok: false as const, reason: "too_long" as const }) } } as never;

async function failure(run: Promise<unknown>): Promise<unknown> {
  const e = await run.catch((err: unknown) => err);
  expect(e).toBeInstanceOf(RouterError);
  return (e as RouterError).failure;
}

describe("a Responses request made ready", () => {
  it("takes the request's id and time, and translates to chat", async () => {
    const { turn, chat } = await responsesTurn(ctx, noChain, { model: "m", input: "hi" }, 30);
    expect(turn.ids).toEqual({ responseId: "resp_0123456789abcdef0123456789abcdef", createdAt: 1_700_000_000 });
    expect(turn.store).toBe(true);
    expect(chat).toEqual({ model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(responseIdOf(ctx.requestId)).toBe(turn.ids.responseId);
  });

  it("refuses to store a request too large for a row, naming 'store'; store: false passes", async () => {
    expect(await failure(responsesTurn(ctx, noChain, { model: "m", input: "hi" }, MAX_STORED_REQUEST_BYTES + 1))).toMatchObject({ kind: "invalid_body", param: "store" });
    await expect(responsesTurn(ctx, noChain, { model: "m", input: "hi", store: false }, MAX_STORED_REQUEST_BYTES + 1)).resolves.toBeDefined();
  });

  it("a conversation too long to rebuild is a 400 naming previous_response_id", async () => {
    expect(await failure(responsesTurn(ctx, noChain, { model: "m", input: "hi", previous_response_id: "resp_x" }, 30))).toMatchObject({ kind: "invalid_body", param: "previous_response_id" });
  });
});
