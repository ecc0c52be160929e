/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings`: authenticate, validate, resolve the
 * scenario, forward with fallback, and record usage after the response (DESIGN §1).
 */
import type { Context } from "hono";
import { activeConfig } from "../config/load";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import { secretReader, type AppEnv } from "../env";
import type { UsageRecord } from "../ledger/types";
import { RouterError, toErrorResponse } from "../openai/errors";
import { chatRequestSchema, embeddingsRequestSchema, validate } from "../openai/requests";
import { forward, formatAttempts, type Forwarded, type Target } from "../proxy/forward";
import { readJsonBody } from "../proxy/read-body";
import { failedUsageRecord, jsonUsageRecord, streamUsageRecord, type RequestFacts } from "../usage/record";
import { admitted, callerOf, mayUse } from "./tenant-auth";

type Endpoint = UsageRecord["endpoint"];

const ENDPOINTS = {
  chat: { path: "/chat/completions", schema: chatRequestSchema },
  embeddings: { path: "/embeddings", schema: embeddingsRequestSchema },
} as const;

/** The scenario a model name names, if this key may use it. */
function scenarioFor(config: RouterConfig, model: string, allowed: string[] | null): ScenarioConfig {
  const scenario = Object.hasOwn(config.scenarios, model) ? config.scenarios[model] : undefined;
  if (!scenario || !mayUse(allowed, model)) throw new RouterError({ kind: "model_not_found", model });
  return scenario;
}

function targetsOf(config: RouterConfig, scenario: ScenarioConfig): Target[] {
  return scenario.candidates.map((c) => ({ originName: c.origin, origin: config.origins[c.origin]!, model: c.model }));
}

/** Headers that say how the request was served. */
function routingHeaders(scenario: string, result: Forwarded): Headers {
  const headers = new Headers({ "x-router-scenario": scenario, "x-router-attempts": formatAttempts(result.attempts) });
  if (result.kind !== "failed") {
    headers.set("x-router-origin", result.target.originName);
    headers.set("x-router-upstream-model", result.target.model);
  }
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
    // that admission (budgets, later) can see what it admits.
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
    const admission = admitted(await caller.ledger.admit({ key: caller.key, requestId }));
    if (bodyError !== undefined || body === undefined) throw bodyError;

    const model = body.model as string;
    const scenario = scenarioFor(config, model, admission.allowedModels);
    if (scenario.endpoint !== endpoint) {
      const other = scenario.endpoint === "chat" ? "/v1/chat/completions" : "/v1/embeddings";
      throw new RouterError({ kind: "invalid_body", message: `The model \`${model}\` is served at ${other}.`, param: "model" });
    }

    const stream = endpoint === "chat" && body.stream === true;
    const clientWantsUsage =
      stream && (body.stream_options as { include_usage?: boolean } | null | undefined)?.include_usage === true;
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

    const facts: RequestFacts = { requestId, keyId: admission.keyId, endpoint, scenario: model, stream, requestBytes: bodyBytes, startedAt };
    const headers = routingHeaders(model, result);
    const settle = (record: UsageRecord) => caller.ledger.settle(record);

    switch (result.kind) {
      case "json": {
        const served = { origin: result.target.originName, model: result.target.model, status: 200, outcome: "ok" };
        c.executionCtx.waitUntil(settle(jsonUsageRecord(facts, served, result.usage, result.text.length, Date.now())));
        headers.set("content-type", "application/json");
        return new Response(result.text, { status: 200, headers });
      }
      case "stream": {
        const served = { origin: result.target.originName, model: result.target.model, status: 200 };
        c.executionCtx.waitUntil(result.outcome.then((o) => settle(streamUsageRecord(facts, served, o, Date.now()))));
        headers.set("content-type", "text/event-stream; charset=utf-8");
        headers.set("cache-control", "no-cache");
        return new Response(result.body, { status: 200, headers });
      }
      case "origin_error": {
        const served = { origin: result.target.originName, model: result.target.model, status: result.status, outcome: "origin_rejected" };
        c.executionCtx.waitUntil(settle(failedUsageRecord(facts, served, Date.now())));
        headers.set("content-type", "application/json");
        return new Response(JSON.stringify(result.body), { status: result.status, headers });
      }
      case "failed": {
        const response = toErrorResponse(result.failure, headers);
        const served = { origin: null, model: null, status: response.status, outcome: result.failure.kind };
        c.executionCtx.waitUntil(settle(failedUsageRecord(facts, served, Date.now())));
        console.warn(`request ${requestId}: every origin failed (${formatAttempts(result.attempts)})`);
        return response;
      }
    }
  };
}
