/**
 * `GET /admin/scenarios/{scenario}/report` (issue #19 §3): the MaaS-or-self-hosted decision from the
 * scenario's own traffic, as JSON or Markdown (`?format=md`, or `Accept: text/markdown`). The
 * traffic is every tenant's usage log summed (tenants from the directory, at most
 * {@link MAX_TENANTS}; the answer says when it stopped short), the health from the origins' monitors.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import { isolateOf } from "../isolate";
import { ownEntry } from "../lib/own";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { documented } from "../openapi/registry";
import { decisionReport, reportTtls } from "../report/decision";
import { reportMarkdown } from "../report/markdown";
import { addTraffic, type ScenarioTraffic } from "../report/traffic";
import { directoryOf, now } from "./admin-request";

/** Most tenants one report reads (a page of the directory at a time). */
const MAX_TENANTS = 5_000;
const PAGE = 200;
const DAY_MS = 86_400_000;

const epochMs = z.coerce.number().int().min(0).max(8.64e15);
const reportQuery = z
  .object({
    /** Start of the window, epoch ms (default: 7 days before `to`). */
    from: epochMs.optional(),
    /** End of the window, epoch ms (default: now). */
    to: epochMs.optional(),
    format: z.enum(["json", "md"]).optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: "from must be before to", path: ["from"] });

documented({
  method: "get",
  path: "/admin/scenarios/{scenario}/report",
  tag: "Admin: health",
  auth: "admin-or-read",
  summary: "Should the scenario stay on MaaS, move to the pool, or split: the decision from its own traffic",
  description: "JSON, or Markdown with `?format=md` or `Accept: text/markdown`. Every figure says whether it was measured, configured or estimated.",
  query: reportQuery,
  responses: { 200: { description: "`{object: scenario.report, window, demand, origins, pool, options, recommendation}`" } },
});

export const reportRoutes = new Hono<AppEnv>().get("/scenarios/:scenario/report", async (c) => {
  const name = c.req.param("scenario");
  const config = isolateOf(c.env).config;
  const scenario = ownEntry(config.scenarios, name);
  if (!scenario) throw new RouterError({ kind: "not_found", what: `Scenario '${name.slice(0, 64)}'` });
  const q = validate(reportQuery, c.req.query());
  const to = q.to ?? now(c);
  const from = q.from ?? to - 7 * DAY_MS;
  if (from >= to) throw new RouterError({ kind: "invalid_body", message: "Invalid value for 'from': it must be before 'to'.", param: "from" });

  const ttls = reportTtls(config, name);
  const parts: ScenarioTraffic[] = [];
  let scanned = 0;
  let after: string | null = null;
  do {
    const page = await directoryOf(c).list({ after, limit: PAGE });
    const traffic = await Promise.all(page.data.map((t) => c.env.TENANT_LEDGER.getByName(t.id).scenarioTraffic(name, from, to, ttls)));
    parts.push(...traffic);
    scanned += page.data.length;
    after = page.nextAfter;
  } while (after !== null && scanned < MAX_TENANTS);

  const traffic = addTraffic(parts);
  const origins = traffic.origins.map((o) => o.origin).filter((o) => Object.hasOwn(config.origins, o));
  const snapshots = new Map(await Promise.all(origins.map(async (o) => [o, await c.env.ORIGIN_MONITOR.getByName(o).snapshot(to)] as const)));
  const report = decisionReport({ config, scenario: name, traffic, snapshots, from, to, tenants: { scanned, truncated: after !== null } });
  const markdown = q.format === "md" || (q.format === undefined && (c.req.header("accept") ?? "").includes("text/markdown"));
  if (markdown) return c.body(reportMarkdown(report), 200, { "content-type": "text/markdown; charset=utf-8" });
  return c.json(report);
});
