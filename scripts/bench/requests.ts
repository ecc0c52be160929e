/**
 * What every benchmark of the router sends, and how it prepares the demo tenant for load: shared
 * by `npm run bench` (run.ts) and `npm run bench:cpu` (cpu-compare.ts).
 */
import { LOCAL_ADMIN_TOKEN } from "../lib/demo";

/** The scenario the router is asked for, and whose first candidate the others call directly. */
export const SCENARIO = "chat-default";
/** The tenant the demo key `tr-demo-local` names (keys are `tr-<tenant>-<secret>`). */
export const DEMO_TENANT = "demo";

/** A small chat request: what a chat UI's short turn looks like. */
export function chatBody(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    max_tokens: 16,
    ...(stream ? { stream: true } : {}),
    messages: [
      { role: "system", content: "You are a concise assistant." },
      { role: "user", content: "In one sentence: why route LLM traffic at the edge?" },
    ],
  });
}

/**
 * Lifts the demo tenant's rate limits to their maxima and gives it a daily cost budget it cannot
 * spend: every admission still counts the windows and reserves the worst case, as in production,
 * but nothing is refused. (A new tenant starts at 1,000 rpm, which a benchmark passes in a second.)
 * The tenant must exist: send it one request first.
 */
export async function provisionTenant(routerUrl: string): Promise<void> {
  const admin = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, "content-type": "application/json" };
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${routerUrl}${path}`, { method, headers: admin, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`router admin API: ${method} ${path} answered ${res.status} ${await res.text()}`);
  };
  await call("PUT", `/admin/tenants/${DEMO_TENANT}/limits`, { rpm: 10_000_000, tpm: 10_000_000_000, concurrency: 100_000 });
  await call("POST", `/admin/tenants/${DEMO_TENANT}/budgets`, { metric: "cost", period: "day", limit: Number.MAX_SAFE_INTEGER });
}
