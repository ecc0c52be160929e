/**
 * What load balancers and monitoring read:
 *
 *   GET /healthz   alive: 200 whenever the Worker runs (no auth, no call to anything)
 *   GET /readyz    ready to serve: 200, or 503 naming the failing checks (no auth; see observe/readiness.ts)
 *   GET /metrics   Prometheus text (admin token; see observe/metrics.ts for where each figure comes from)
 *   GET /openapi.json   the API as OpenAPI 3.1 (no auth; see openapi/registry.ts)
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { isolateOf } from "../isolate";
import { renderMetrics } from "../observe/metrics";
import { adminAuth } from "./admin-auth";
import pkg from "../../package.json";
import { documented, documentedOperations, openApiDocument } from "../openapi/registry";

const NO_STORE = { "cache-control": "no-store" };

documented(
  { method: "get", path: "/healthz", tag: "Operations", auth: "none", summary: "Liveness", responses: { 200: { description: '`{"status":"ok"}`' } } },
  { method: "get", path: "/readyz", tag: "Operations", auth: "none", summary: "Readiness: config store, directory and monitors answer", responses: { 200: { description: "`{status: ready, checks}`" }, 503: { description: "`{status: not_ready, checks}`: the failing checks named" } } },
  { method: "get", path: "/metrics", tag: "Operations", auth: "admin-or-read", summary: "Prometheus metrics", responses: { 200: { description: "Prometheus text format 0.0.4", text: "text/plain" } } },
  { method: "get", path: "/openapi.json", tag: "Operations", auth: "none", summary: "This document", responses: { 200: { description: "OpenAPI 3.1" } } },
  { method: "get", path: "/", tag: "Operations", auth: "none", summary: "Where the APIs are", responses: { 200: { description: '`{"service":"token-router","api":"/v1","openapi":"/openapi.json"}`' } } },
);

/** Mounted before the live-config step: probes answer even while the config store does not. */
export const probeRoutes = new Hono<AppEnv>()
  .get("/healthz", (c) => c.json({ status: "ok" }, 200, NO_STORE))
  .get("/readyz", async (c) => {
    const report = await isolateOf(c.env).readiness.report();
    return c.json({ status: report.ready ? "ready" : "not_ready", checks: report.checks }, report.ready ? 200 : 503, NO_STORE);
  })
  .get("/openapi.json", (c) => {
    openApi ??= openApiDocument(documentedOperations(), { version: pkg.version });
    return c.json(openApi);
  });

/** Built on first use: by then every route module has declared its operations. */
let openApi: Record<string, unknown> | null = null;

export const metricsRoutes = new Hono<AppEnv>().get("/metrics", adminAuth(), async (c) => {
  const isolate = isolateOf(c.env);
  const at = isolate.clock.now();
  const origins = await Promise.all(Object.keys(isolate.config.origins).map((name) => c.env.ORIGIN_MONITOR.getByName(name).snapshot(at)));
  const text = renderMetrics({
    requests: isolate.metrics,
    isolate: { id: isolate.id, configVersion: isolate.live.current.version, configStoreCalls: isolate.live.calls, ledgerCalls: isolate.ledgerCalls.byKind },
    origins,
  });
  return c.body(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", ...NO_STORE });
});
