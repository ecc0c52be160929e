/**
 * What every step of a request sees: its id, when it arrived by the router's clock, the client's
 * request, the isolate's state and config, and `waitUntil`. Built once from Hono's context by the
 * route, so the steps below never take a framework type.
 */
import type { Context } from "hono";
import type { RouterConfig } from "../config/schema";
import type { AppEnv, RouterEnv } from "../env";
import { isolateOf, type Isolate } from "../isolate";
import type { RequestLog } from "../observe/request-log";
import { Departure } from "./departure";

export interface RequestContext {
  requestId: string;
  /** When the request arrived, by the router's clock (`isolate.clock`): what decides time of day. */
  startedAt: number;
  /** When it arrived, by the real clock: what latencies are measured from. */
  arrivedAt: number;
  /** The client's request: headers and body. */
  request: Request;
  /** The client's going away (its request's signal), for whoever on the path must know. */
  client: Departure;
  env: RouterEnv;
  isolate: Isolate;
  config: RouterConfig;
  /** Keeps work alive after the response (settlements, reports, shadows); null: nothing to keep (no call into the runtime). */
  waitUntil(promise: Promise<unknown> | null): void;
  /** The request's log line, written once it is settled (see observe/request-log.ts). */
  log: RequestLog;
}

/** The request context of a Hono handler's request. */
export function requestContext(c: Context<AppEnv>): RequestContext {
  const isolate = isolateOf(c.env);
  return {
    requestId: c.get("requestId"),
    startedAt: isolate.clock.now(),
    arrivedAt: Date.now(),
    request: c.req.raw,
    client: new Departure(c.req.raw.signal),
    env: c.env,
    isolate,
    config: isolate.config,
    waitUntil: (promise) => {
      if (promise) c.executionCtx.waitUntil(promise);
    },
    log: c.get("log"),
  };
}
