/**
 * The router's HTTP surface: the OpenAI-compatible API under `/v1`, the admin API under
 * `/admin`, the console under `/console`, one request id on every response, and one error path
 * (`onError`).
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import { MemoRouter } from "./lib/memo-router";
import { consoleRoutes } from "./console/routes";
import type { AppEnv } from "./env";
import { RouterError, toErrorResponse } from "./openai/errors";
import { isolateOf } from "./isolate";
import { RequestLog } from "./observe/request-log";
import { adminRoutes } from "./routes/admin";
import { feedbackRoutes } from "./routes/feedback";
import { batchRoutes } from "./routes/batches";
import { metricsRoutes, probeRoutes } from "./routes/ops";
import { modelRoutes } from "./routes/models";
import { proxyHandler } from "./routes/proxy";
import { newRequestId } from "./lib/request-id";
import { responseRoutes } from "./routes/responses";
import { tenantSelfRoutes } from "./routes/tenant-self";

/** Headers a browser client may read (CORS). */
const EXPOSED_HEADERS = [
  "x-request-id",
  "x-router-origin",
  "x-router-scenario",
  "x-router-attempts",
  "x-router-upstream-model",
  "x-router-max-tokens",
  "x-router-budget-warning",
  "x-router-cost-usd",
  "x-router-priority",
  "x-router-affinity",
  "x-router-decision",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens",
  "retry-after",
];

/** The proxied endpoints: their routes' match is kept (lib/memo-router.ts). */
const PROXIED_PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"];

export function createApp(): Hono<AppEnv> {
  // Hono's default router (SmartRouter over its RegExpRouter and TrieRouter), the proxied routes' matches kept.
  const app = new Hono<AppEnv>({
    router: new MemoRouter(new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] }), new Set(PROXIED_PATHS.map((path) => `POST ${path}`))),
  });

  app.use(async function requestId(c, next) {
    // Always our own id: it keys usage records, so a client must not be able to choose it.
    const arrivedAt = Date.now();
    const id = newRequestId(arrivedAt);
    c.set("requestId", id);
    const isolate = isolateOf(c.env);
    const log = new RequestLog({ requestId: id, method: c.req.method, path: c.req.path, arrivedAt }, { metrics: isolate.metrics, analytics: c.env.REQUEST_ANALYTICS });
    c.set("log", log);
    await next();
    c.res.headers.set("x-request-id", id);
    log.responded(c.res.status, Date.now());
  });

  // Probes first: they answer without waiting on the config store.
  app.route("/", probeRoutes);

  // The live config (config/live.ts): a check in the background every few seconds, never a call per request.
  app.use(async function liveConfig(c, next) {
    const wait = isolateOf(c.env).live.ready((work) => c.executionCtx.waitUntil(work));
    if (wait) await wait;
    await next();
  });

  // CORS for browser clients; requests without an Origin header (servers, SDKs) skip its work.
  const browserCors = cors({ origin: "*", exposeHeaders: EXPOSED_HEADERS, maxAge: 86400 });
  app.use("/v1/*", async function corsForBrowsers(c, next) {
    if (c.req.header("origin") === undefined) return next();
    return browserCors(c, next);
  });

  app.post("/v1/chat/completions", proxyHandler("chat"));
  app.post("/v1/completions", proxyHandler("completions"));
  app.post("/v1/embeddings", proxyHandler("embeddings"));
  app.post("/v1/responses", proxyHandler("responses"));
  app.route("/v1/responses", responseRoutes);
  app.route("/v1/models", modelRoutes);
  app.route("/v1", tenantSelfRoutes);
  app.route("/v1/feedback", feedbackRoutes);
  app.route("/v1", batchRoutes);
  app.route("/admin", adminRoutes);
  app.route("/", metricsRoutes);
  app.route("/console", consoleRoutes);
  app.get("/", (c) => c.json({ service: "token-router", api: "/v1", openapi: "/openapi.json" }));

  for (const path of PROXIED_PATHS) {
    app.all(path, (c) => {
      throw new RouterError({ kind: "method_not_allowed", method: c.req.method, path: c.req.path });
    });
  }

  app.notFound((c) => toErrorResponse({ kind: "unknown_route", method: c.req.method, path: c.req.path }));

  app.onError((error, c) => {
    if (error instanceof RouterError) return toErrorResponse(error.failure);
    // The internal reason goes to the log, never to the client.
    console.error(`request ${c.get("requestId")}: unhandled error`, error);
    return toErrorResponse({ kind: "internal" });
  });

  return app;
}
