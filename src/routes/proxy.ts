/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings`: authenticate, validate, admit (one
 * round trip: key, policy, rate limits, budget reservation), forward with fallback, and settle
 * the reservation with the real cost after the response (DESIGN §1).
 */
import type { Context } from "hono";
import { activeConfig } from "../config/load";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import { secretReader, type AppEnv } from "../env";
import type { SettleRequest } from "../ledger/types";
import { RouterError, toErrorResponse } from "../openai/errors";
import { setRateLimitHeaders } from "../openai/rate-limit-headers";
import { chatRequestSchema, embeddingsRequestSchema, validate } from "../openai/requests";
import { forward, formatAttempts, type Forwarded, type Target } from "../proxy/forward";
import { readJsonBody } from "../proxy/read-body";
import { failedSettlement, jsonSettlement, streamSettlement, type RequestFacts } from "../usage/record";
import { applyOutputCap, FREE, originPrices, reservationFor } from "../usage/reservation";
import { admitted, callerOf, type Admitted } from "./tenant-auth";

type Endpoint = SettleRequest["endpoint"];

const ENDPOINTS = {
  chat: { path: "/chat/completions", schema: chatRequestSchema },
  embeddings: { path: "/embeddings", schema: embeddingsRequestSchema },
} as const;

/** The scenario a model name names, if the config has it (inherited object keys never match). */
function scenarioOf(config: RouterConfig, model: string): ScenarioConfig | undefined {
  return Object.hasOwn(config.scenarios, model) ? config.scenarios[model] : undefined;
}

function targetsOf(config: RouterConfig, scenario: ScenarioConfig): Target[] {
  return scenario.candidates.map((c) => ({ originName: c.origin, origin: config.origins[c.origin]!, model: c.model }));
}

/** Headers that say how the request was admitted and served. */
function responseHeaders(scenario: string, admission: Admitted, cap: number | null, result: Forwarded): Headers {
  const headers = new Headers({ "x-router-scenario": scenario, "x-router-attempts": formatAttempts(result.attempts) });
  if (result.kind !== "failed") {
    headers.set("x-router-origin", result.target.originName);
    headers.set("x-router-upstream-model", result.target.model);
  }
  if (cap !== null) headers.set("x-router-max-tokens", String(cap));
  for (const b of admission.softLimited) {
    const used = Math.round(((b.settled + b.reserved) / b.limit) * 100);
    headers.append("x-router-budget-warning", `${b.id}; metric=${b.metric}; period=${b.period}; used=${used}%`);
  }
  setRateLimitHeaders(headers, admission.rateLimit);
  return headers;
}

/** The handler of one proxied endpoint. */
export function proxyHandler(endpoint: Endpoint) {
  const { path, schema } = ENDPOINTS[endpoint];
  return async function proxy(c: Context<AppEnv>): Promise<Response> {
    const startedAt = Date.now();
    const config = activeConfig(c.env);
    const requestId = c.get("requestId");
    const caller = callerOf(c.env, c.req.header("authorization"));

    // The key is checked before the body is judged, as OpenAI does; the body is read first so
    // that admission can reserve what this very request may cost.
    let body: Record<string, unknown> | undefined;
    let bodyBytes = 0;
    let bodyError: unknown;
    try {
      const read = await readJsonBody(c.req.raw, config.limits.maxBodyBytes);
      bodyBytes = read.bytes;
      body = validate(schema, read.value) as Record<string, unknown>;
    } catch (e) {
      bodyError = e;
    }
    const model = typeof body?.model === "string" ? body.model : null;
    const scenario = model === null ? undefined : scenarioOf(config, model);
    const servable = body !== undefined && scenario !== undefined && scenario.endpoint === endpoint;
    const stream = endpoint === "chat" && body?.stream === true;
    const reserve = servable ? reservationFor(config, model!, scenario, body!, stream, startedAt) : null;

    const admission = admitted(await caller.ledger.admit({ key: caller.key, requestId, at: startedAt, model, reserve }), model);
    if (bodyError !== undefined || body === undefined) throw bodyError;
    if (!scenario) throw new RouterError({ kind: "model_not_found", model: model! });
    if (!servable) {
      const other = scenario.endpoint === "chat" ? "/v1/chat/completions" : "/v1/embeddings";
      throw new RouterError({ kind: "invalid_body", message: `The model \`${model}\` is served at ${other}.`, param: "model" });
    }

    const cap = applyOutputCap(body, admission.outputCap);
    const clientWantsUsage = stream && (body.stream_options as { include_usage?: boolean } | null | undefined)?.include_usage === true;
    const result = await forward({
      path,
      body,
      stream,
      clientWantsUsage,
      targets: targetsOf(config, scenario),
      requestId,
      clientHeaders: c.req.raw.headers,
      readSecret: secretReader(c.env),
    });

    const facts: RequestFacts = {
      requestId,
      keyId: admission.keyId,
      endpoint,
      scenario: model!,
      stream,
      requestBytes: bodyBytes,
      startedAt,
      reservedMicros: admission.reservedMicros,
    };
    const headers = responseHeaders(model!, admission, cap, result);
    const settle = (settlement: SettleRequest) =>
      caller.ledger.settle(settlement).catch((e: unknown) => console.error(`request ${requestId}: settle failed (the alarm will charge the reservation)`, e));
    const servedBy = (r: Exclude<Forwarded, { kind: "failed" }>) => ({
      origin: r.target.originName,
      model: r.target.model,
      prices: originPrices(config, r.target.originName, startedAt),
    });

    switch (result.kind) {
      case "json": {
        const served = { ...servedBy(result), status: 200, outcome: "ok" };
        c.executionCtx.waitUntil(settle(jsonSettlement(facts, served, result.usage, result.text.length, Date.now())));
        headers.set("content-type", "application/json");
        return new Response(result.text, { status: 200, headers });
      }
      case "stream": {
        const served = { ...servedBy(result), status: 200 };
        c.executionCtx.waitUntil(result.outcome.then((o) => settle(streamSettlement(facts, served, o, Date.now()))));
        headers.set("content-type", "text/event-stream; charset=utf-8");
        headers.set("cache-control", "no-cache");
        return new Response(result.body, { status: 200, headers });
      }
      case "origin_error": {
        const served = { ...servedBy(result), status: result.status, outcome: "origin_rejected" };
        c.executionCtx.waitUntil(settle(failedSettlement(facts, served, Date.now())));
        headers.set("content-type", "application/json");
        return new Response(JSON.stringify(result.body), { status: result.status, headers });
      }
      case "failed": {
        const response = toErrorResponse(result.failure, headers);
        const served = { origin: null, model: null, prices: FREE, status: response.status, outcome: result.failure.kind };
        c.executionCtx.waitUntil(settle(failedSettlement(facts, served, Date.now())));
        console.warn(`request ${requestId}: every origin failed (${formatAttempts(result.attempts)})`);
        return response;
      }
    }
  };
}
