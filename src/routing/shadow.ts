/**
 * Shadow copies: a scenario's `shadow` origin gets a copy of its share of requests; the answer is
 * measured, priced and discarded (DESIGN §4).
 */
import type { Context } from "hono";
import type { RouterConfig } from "../config/schema";
import { scrubberOf, secretReader, type AppEnv } from "../env";
import type { Usage } from "../openai/usage";
import { costMicros } from "../pricing/cost";
import { forward } from "../proxy/forward";
import { originPrices } from "../usage/reservation";
import { isolateState, reportFailedAttempts, reportServed, type Requester } from "./isolate-state";

/**
 * Mirrors the request to the scenario's shadow origin: measured and reported to its monitor, its
 * answer read to the end and discarded. Nothing of it reaches the client, and it never throws.
 */
export async function shadowCopy(
  c: Context<AppEnv>,
  config: RouterConfig,
  scenario: string,
  shadow: { origin: string; model: string },
  path: string,
  body: Record<string, unknown>,
  stream: boolean,
  requestId: string,
  /** The write of this request's decision entry, which the shadow's result is added to. */
  decisionLogged: Promise<void>,
  /** Whose request is copied: the copy's failures are the tenant's as much as the original's. */
  requester: Requester,
): Promise<void> {
  const { reporter } = isolateState(c.env);
  const started = Date.now();
  try {
    const result = await forward({
      path,
      body,
      stream,
      clientWantsUsage: false,
      targets: [{ originName: shadow.origin, origin: config.origins[shadow.origin]!, model: shadow.model }],
      requestId,
      clientHeaders: c.req.raw.headers,
      readSecret: secretReader(c.env),
      scrub: scrubberOf(config, c.env),
      heartbeatMs: config.limits.streamHeartbeatMs,
      onAttempt: (target) => reporter.begin(target.originName),
    });
    const sends = reportFailedAttempts(reporter, result.attempts, requester);
    const attempt = result.attempts.at(-1);
    let usage: Usage | null = null;
    if (result.kind === "json") usage = result.usage;
    if (result.kind === "stream") {
      const reader = result.body.getReader();
      while (!(await reader.read()).done);
      usage = (await result.outcome).usage;
    }
    const latencyMs = Date.now() - started;
    if (attempt && result.kind !== "failed") sends.push(reportServed(reporter, attempt, latencyMs, usage?.completionTokens) ?? Promise.resolve());
    const measured = usage ?? { promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0 };
    // A fast shadow can finish before its decision entry is written: annotate only after it is.
    await decisionLogged;
    sends.push(
      c.env.DECISION_LOG.getByName(scenario)
        .recordShadow(requestId, {
          origin: shadow.origin,
          model: shadow.model,
          result: String(attempt?.result ?? "not_sent"),
          latencyMs,
          promptTokens: measured.promptTokens,
          cachedTokens: measured.cachedTokens,
          completionTokens: measured.completionTokens,
          costMicros: costMicros(originPrices(config, shadow.origin, started), measured),
        })
        .then(() => undefined),
    );
    await Promise.all(sends);
  } catch (e) {
    console.error(`request ${requestId}: shadow copy to ${shadow.origin} failed`, e);
  }
}

