/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings`: authenticate, validate, admit (one
 * round trip: key, policy, rate limits, budget reservation), forward with fallback, and settle
 * the reservation with the real cost after the response (DESIGN §1).
 */
import type { Context } from "hono";
import { promptParts } from "../affinity/cache-model";
import { affinityHeader, affinityView, learnedFrom, prefixSample, requestPrefix } from "../affinity/request-prefix";
import { PROVIDER_PROFILES } from "../config/providers";
import { activeConfig } from "../config/load";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import { scrubberOf, secretReader, type AppEnv } from "../env";
import { ownEntry } from "../lib/own";
import type { SettleRequest } from "../ledger/types";
import { RouterError, toErrorResponse } from "../openai/errors";
import { setRateLimitHeaders } from "../openai/rate-limit-headers";
import { chatRequestSchema, embeddingsRequestSchema, validate } from "../openai/requests";
import { forward, formatAttempts, type Forwarded, type Target } from "../proxy/forward";
import { readJsonBody } from "../proxy/read-body";
import { estimateTokens } from "../openai/usage";
import { parseBoundaryHeader, type Boundary } from "../routing/boundary";
import { decide, type Decision } from "../routing/decide";
import { canaryStopped } from "../routing/canary-state";
import { isolateState, nextRotation, reportBrokenStream, reportFailedAttempts, reportServed, requesterOf, shouldLogDecision } from "../routing/isolate-state";
import { shadowCopy } from "../routing/shadow";
import { priorityOf } from "../routing/priority";
import type { Usage } from "../openai/usage";
import { cancelledSettlement, failedSettlement, jsonSettlement, streamSettlement, type RequestFacts } from "../usage/record";
import { applyOutputCap, FREE, originPrices, requestedOutputCap, reservationFor, servingOrigins } from "../usage/reservation";
import { admitted, callerOf, type Admitted } from "./tenant-auth";

type Endpoint = SettleRequest["endpoint"];

const ENDPOINTS = {
  chat: { path: "/chat/completions", schema: chatRequestSchema },
  embeddings: { path: "/embeddings", schema: embeddingsRequestSchema },
} as const;

/** The scenario a model name names, if the config has it (inherited object keys never match). */
function scenarioOf(config: RouterConfig, model: string): ScenarioConfig | undefined {
  return ownEntry(config.scenarios, model);
}

function targetsOf(config: RouterConfig, decision: Decision): Target[] {
  return decision.attempts.map((a) => ({ originName: a.origin, origin: config.origins[a.origin]!, model: a.model }));
}

/** Every origin a scenario may use, shadow included: the health snapshots a decision reads. */
function originsOf(scenario: ScenarioConfig): string[] {
  const names = servingOrigins(scenario);
  if (scenario.shadow) names.push(scenario.shadow.origin);
  return [...new Set(names)];
}

/** The request's own `x-router-boundary`, or the 400 it deserves. */
function requestBoundary(header: string | undefined): Boundary | null {
  const parsed = parseBoundaryHeader(header ?? null);
  if (parsed !== null && "error" in parsed) {
    throw new RouterError({ kind: "invalid_body", message: `Invalid x-router-boundary header: ${parsed.error}.`, param: null });
  }
  return parsed;
}

/** Headers that say how the request was admitted and served. */
function responseHeaders(scenario: string, admission: Admitted, cap: number | null, result: Forwarded): Headers {
  const headers = new Headers({ "x-router-scenario": scenario, "x-router-attempts": formatAttempts(result.attempts) });
  const target = result.kind === "failed" ? null : result.target;
  if (target) {
    headers.set("x-router-origin", target.originName);
    headers.set("x-router-upstream-model", target.model);
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
    const caller = await callerOf(c.env, c.req.raw);

    // The key is checked before the body is judged, as OpenAI does; the body is read first so
    // that admission can reserve what this very request may cost.
    let body: Record<string, unknown> | undefined;
    let bodyBytes = 0;
    let bodyError: unknown;
    let boundary: Boundary | null = null;
    try {
      const read = await readJsonBody(c.req.raw, config.limits.maxBodyBytes);
      bodyBytes = read.bytes;
      body = validate(schema, read.value) as Record<string, unknown>;
      boundary = requestBoundary(c.req.header("x-router-boundary"));
    } catch (e) {
      bodyError = e;
    }
    const model = typeof body?.model === "string" ? body.model : null;
    const scenario = model === null ? undefined : scenarioOf(config, model);
    const servable = body !== undefined && scenario !== undefined && scenario.endpoint === endpoint;
    const stream = endpoint === "chat" && body?.stream === true;
    const reserve = servable ? reservationFor(config, model!, scenario, body!, stream, startedAt) : null;
    const prefix = servable ? requestPrefix(config, model!, scenario, body!) : null;

    const admitResult = await caller.ledger.admit({ key: caller.key, requestId, at: startedAt, model, reserve, prefix: prefix?.lookup ?? null });
    const admission = admitted(admitResult, model, caller);
    if (bodyError !== undefined || body === undefined) throw bodyError;
    if (!scenario) throw new RouterError({ kind: "model_not_found", model: model! });
    if (!servable) {
      const other = scenario.endpoint === "chat" ? "/v1/chat/completions" : "/v1/embeddings";
      throw new RouterError({ kind: "invalid_body", message: `The model \`${model}\` is served at ${other}.`, param: "model" });
    }

    const cap = applyOutputCap(body, admission.outputCap);
    const clientWantsUsage = stream && (body.stream_options as { include_usage?: boolean } | null | undefined)?.include_usage === true;

    // Where: the pure decision over this isolate's cached health snapshots (no round trip).
    const isolate = isolateState(c.env);
    const { snapshots, reporter } = isolate;
    const matches = (admitResult.ok && admitResult.prefixMatches) || {};
    const { cacheModel } = isolate;
    const parts = prefix ? promptParts(prefix.fp) : null;
    const affinity = prefix && parts ? affinityView(config, prefix, matches, nextRotation(isolate, model!), (origin) => cacheModel.reach(origin, parts)) : undefined;
    const cacheSize = (origin: string) => ownEntry(config.origins, origin)?.cache?.capacityTokens;
    const read = snapshots.getMany(originsOf(scenario));
    if (read.refresh) c.executionCtx.waitUntil(read.refresh);
    // The cache's current entry: a snapshot refreshed during a flex wait is seen at once.
    const snapshotOf = (origin: string) => snapshots.peek(origin);
    const priority = priorityOf(body.service_tier, c.req.header("x-priority") ?? null, admission.maxPriority);
    const canaryIsStopped = canaryStopped(c, config, model!, scenario, snapshotOf, bodyBytes, startedAt);
    const decideAt = (at: number) =>
      decide(
        {
          priority: priority.priority,
          promptTokens: estimateTokens(bodyBytes),
          outputTokens: endpoint === "embeddings" ? 0 : (requestedOutputCap(body) ?? scenario.maxOutputTokens),
          boundaries: boundary ? [...admission.boundaries, boundary] : admission.boundaries,
          budgetPressure: admission.budgetPressure,
          softLimited: admission.softLimited.length > 0,
          random: Math.random,
          inFlight: (origin) => reporter.inFlight(origin),
          recentTokens: (origin) => isolate.recentLoad.of(origin, at),
          recentRequests: (origin) => isolate.recentRequests.of(origin, at),
          cacheRoom: (origin) => {
            const capacity = cacheSize(origin);
            return parts && capacity ? cacheModel.room(origin, parts, capacity, at) : null;
          },
          ...(affinity ? { affinity } : {}),
        },
        { name: model!, scenario, origins: config.origins, canaryStopped: canaryIsStopped },
        snapshotOf,
        at,
      );
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
    // Settled exactly once, in a batch with the tenant's other requests ending now; the served
    // request's lesson for the prefix index rides along.
    let settled = false;
    const settle = (settlement: SettleRequest, usage: Usage | null = null): Promise<void> => {
      if (settled) return Promise.resolve();
      settled = true;
      const learned = prefix && settlement.origin !== null && settlement.status === 200 ? learnedFrom(config, prefix, matches, settlement.origin, usage) : null;
      const send = isolate.settlements.add(admission.tenantId, caller.ledger, { request: settlement, ...(learned ? { prefix: learned } : {}) });
      return send ?? Promise.resolve();
    };
    // A client that leaves while an origin works: at the edge the runtime then ends this handler
    // mid-await, and only what `waitUntil` holds survives. The abort listener settles the request
    // as cancelled, charging the prompt of the origin being called (it worked on it), nothing if
    // none was. Once an answer is in hand, its own path settles it (a stream's relay notices the
    // client leaving itself).
    let calling: Target | null = null;
    const clientLeft = () => {
      const served = calling
        ? { origin: calling.originName, model: calling.model, prices: originPrices(config, calling.originName, startedAt), status: 499, outcome: "cancelled" }
        : { origin: null, model: null, prices: FREE, status: 499, outcome: "cancelled" };
      c.executionCtx.waitUntil(settle(cancelledSettlement(facts, served, Date.now())));
    };
    c.req.raw.signal.addEventListener("abort", clientLeft, { once: true });

    let decision = decideAt(startedAt);
    // A batch request may wait, within the scenario's bound, for capacity or a cheaper window.
    const flexDeadline = startedAt + (scenario.flex?.maxWaitMs ?? 0);
    while (decision.waitMs !== null && Date.now() + decision.waitMs <= flexDeadline) {
      await new Promise((resolve) => setTimeout(resolve, decision.waitMs!));
      decision = decideAt(Date.now());
    }

    const result: Forwarded =
      decision.attempts.length === 0
        ? { kind: "failed", failure: { kind: "no_origin_available", retryAfterSeconds: decision.availableAt === null ? null : (decision.availableAt - Date.now()) / 1000 }, attempts: [] }
        : await forward({
            path,
            body,
            stream,
            clientWantsUsage,
            targets: targetsOf(config, decision),
            requestId,
            clientHeaders: c.req.raw.headers,
            clientSignal: c.req.raw.signal,
            readSecret: secretReader(c.env),
            scrub: scrubberOf(config, c.env),
            heartbeatMs: config.limits.streamHeartbeatMs,
            onAttempt: (target) => {
              calling = target;
              const origin = target.originName;
              reporter.begin(origin);
              const now = Date.now();
              isolate.recentRequests.add(origin, 1, now);
              if (!parts) return;
              isolate.recentLoad.add(origin, parts.promptTokens, now);
              const capacity = cacheSize(origin);
              if (capacity) cacheModel.sent(origin, capacity, parts, now);
            },
            promptCacheKey:
              prefix && decision.attempts.some((a) => PROVIDER_PROFILES[config.origins[a.origin]!.provider].promptCacheKey)
                ? isolate.promptCacheKeys.keyFor(admission.tenantId, prefix.fp.anchor, prefix.sessionKey, scenario.affinity.promptCacheKeyRpm, startedAt)
                : null,
          });
    c.req.raw.signal.removeEventListener("abort", clientLeft);
    const requester = requesterOf(admission.tenantId, body);
    for (const send of reportFailedAttempts(reporter, result.attempts, requester)) c.executionCtx.waitUntil(send);
    const servingAttempt = result.kind === "failed" || result.kind === "cancelled" ? undefined : result.attempts.at(-1);
    const explained = admission.debug && c.req.header("x-router-explain") === "1";
    // Every shadowed decision is logged, and its shadow's result is added to that entry afterwards.
    let decisionLogged: Promise<void> = Promise.resolve();
    if (shouldLogDecision(isolateState(c.env), model!, explained || decision.shadow !== null, startedAt)) {
      const entry = { requestId, at: startedAt, attempts: decision.attempts, shadow: decision.shadow, servedBy: servingAttempt?.origin ?? null, explanation: decision.explanation };
      decisionLogged = c.env.DECISION_LOG.getByName(model!).record(entry).catch((e: unknown) => console.error("decision log failed", e));
      c.executionCtx.waitUntil(decisionLogged);
    }
    if (decision.shadow) c.executionCtx.waitUntil(shadowCopy(c, config, model!, decision.shadow, path, body, stream, requestId, decisionLogged, requester));

    const headers = responseHeaders(model!, admission, cap, result);
    headers.set("x-router-priority", priority.priority);
    if (explained) headers.set("x-router-decision", JSON.stringify(decision.explanation));
    if (prefix) headers.set("x-router-affinity", affinityHeader(decision, affinity, servingAttempt?.origin ?? null));
    const report = (latencyMs: number, usage?: Usage | null, outputTokens = usage?.completionTokens) => {
      const sample = servingAttempt && usage && prefix ? prefixSample(model!, decision, affinity, servingAttempt.origin, usage) : undefined;
      const send = servingAttempt ? reportServed(reporter, servingAttempt, latencyMs, outputTokens, sample) : null;
      if (send) c.executionCtx.waitUntil(send);
    };
    const servedBy = (r: Exclude<Forwarded, { kind: "failed" | "cancelled" }>) => ({
      origin: r.target.originName,
      model: r.target.model,
      prices: originPrices(config, r.target.originName, startedAt),
    });

    switch (result.kind) {
      case "json": {
        const served = { ...servedBy(result), status: 200, outcome: "ok" };
        report(Date.now() - startedAt, result.usage);
        c.executionCtx.waitUntil(settle(jsonSettlement(facts, served, result.usage, result.text.length, Date.now()), result.usage));
        headers.set("content-type", "application/json");
        return new Response(result.text, { status: 200, headers });
      }
      case "stream": {
        const served = { ...servedBy(result), status: 200 };
        c.executionCtx.waitUntil(
          result.outcome.then((o) => {
            if (o.end === "broken" || o.end === "timeout") {
              // It served the first token, then failed: the origin's health should know.
              const a = servingAttempt;
              const send = a ? reportBrokenStream(reporter, a, o.end, Date.now() - a.startedAt, requester) : null;
              if (send) c.executionCtx.waitUntil(send);
            } else report(Date.now() - startedAt, o.usage, o.usage?.completionTokens ?? o.contentEvents);
            return settle(streamSettlement(facts, served, o, Date.now()), o.usage ?? null);
          }),
        );
        headers.set("content-type", "text/event-stream; charset=utf-8");
        headers.set("cache-control", "no-cache");
        return new Response(result.body, { status: 200, headers });
      }
      case "origin_error": {
        const served = { ...servedBy(result), status: result.status, outcome: "origin_rejected" };
        report(Date.now() - startedAt);
        c.executionCtx.waitUntil(settle(failedSettlement(facts, served, Date.now())));
        headers.set("content-type", "application/json");
        return new Response(JSON.stringify(result.body), { status: result.status, headers });
      }
      case "cancelled": {
        calling = result.target;
        clientLeft();
        return toErrorResponse({ kind: "client_closed" }, headers);
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
