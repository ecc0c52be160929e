/**
 * `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings` and `/v1/responses`: the
 * request path of DESIGN §1, one named
 * step after another. Admit (read, validate, authenticate, reserve: under the isolate's lease, or in
 * one round trip to the tenant's ledger), place (the pure decision over cached health, a flex wait),
 * send (forward with fallback before the first byte), finish (the response; settlement, health and
 * the decision log after it).
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { ApiEndpoint } from "../openai/requests";
import { admit } from "../request/admit";
import { requestContext } from "../request/context";
import { finish } from "../request/finish";
import { place } from "../request/place";
import { send } from "../request/send";
import { Settlement } from "../request/settlement";

/** The handler of one proxied endpoint. */
export function proxyHandler(endpoint: ApiEndpoint) {
  return async function proxy(c: Context<AppEnv>): Promise<Response> {
    const ctx = requestContext(c);
    const admission = await admit(ctx, endpoint);
    // Settled exactly once from here on: when it is answered, when the client leaves first, or
    // when the router itself fails (then nothing is charged, and nothing stays reserved).
    const settlement = new Settlement(ctx, admission);
    try {
      const placement = await place(ctx, admission);
      const result = await send(ctx, admission, placement, settlement);
      return await finish(ctx, admission, placement, settlement, result);
    } catch (e) {
      settlement.failed();
      throw e;
    }
  };
}
