/**
 * The admin API's audit trail (issue #16): every change an admin token makes is recorded in the
 * TenantDirectory's append-only log (`directory/audit-log.ts`), and read at `GET /admin/audit`.
 *
 * A route records its change with {@link audit} once it succeeded, with an action name and a
 * summary; {@link auditTrail} makes sure no change goes unrecorded: a write (any method but GET or
 * HEAD) answered below 400 that recorded nothing gets a row naming its method and route. The row is
 * written before the answer leaves. Should the directory fail to take it, the change stands (it was
 * made, and an operator retrying a rotation would lose the key they were never shown) and the row
 * goes to the Worker's log instead, with `audit_write_failed`.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { z } from "zod";
import { TENANT_ID_PATTERN } from "../auth/api-key";
import type { AuditRecord, AuditRow } from "../directory/audit-log";
import type { AppEnv } from "../env";
import { validate } from "../openai/requests";
import { READ_METHODS } from "./admin-auth";
import { directoryOf, type AdminContext } from "./admin-request";
import { documented } from "../openapi/registry";

/** A change, as a route describes it. */
export interface AuditChange {
  /** What was done, dotted: `tenant.disable`, `key.rotate`, `config.publish`. */
  action: string;
  /** The tenant changed; by default the route's `:tenant`, if it has one. */
  tenant?: string | null;
  /** The object changed within it (a key id, a budget id), or null. */
  target?: string | null;
  /** What changed, as JSON. Never a secret: no key, no token (a key's hint is fine). */
  summary?: Record<string, unknown>;
}

/**
 * Records the change this admin request made, as the caller's token, in the audit log. Call once
 * the change succeeded; the row is written before this resolves (see the module comment).
 * @example
 * await audit(c, { action: "config.publish", target: "v7", summary: { message: "canary 20 %" } });
 */
export async function audit(c: AdminContext, change: AuditChange): Promise<void> {
  const admin = c.get("admin");
  if (!admin) throw new Error("audit() outside the admin API: no admin token on this request");
  c.set("audited", true);
  const record: AuditRecord = {
    at: Date.now(),
    actor: { token: admin.kind, fingerprint: await admin.fingerprint() },
    method: c.req.method,
    route: routePath(c, -1),
    action: change.action,
    tenant: change.tenant === undefined ? (c.req.param("tenant") ?? null) : change.tenant,
    target: change.target ?? null,
    summary: JSON.stringify(change.summary ?? {}),
    requestId: c.get("requestId"),
  };
  try {
    await directoryOf(c).appendAudit(record);
  } catch (e) {
    console.error(JSON.stringify({ event: "audit_write_failed", record, error: String(e) }));
  }
}

/** Middleware: records a write that succeeded without recording itself (see the module comment). */
export function auditTrail(): MiddlewareHandler<AppEnv> {
  return async function auditTrailMiddleware(c, next) {
    await next();
    if (READ_METHODS.has(c.req.method) || c.res.status >= 400 || c.get("audited")) return;
    await audit(c, { action: `${c.req.method} ${routePath(c, -1)}` });
  };
}

const auditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** Newest first (the default), older than this id: `next_before` of the previous page. */
    before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    /** Oldest first, newer than this id (0: from the start): `next_after`, for following the log. */
    after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    tenant: z.string().regex(TENANT_ID_PATTERN, "not a tenant id").optional(),
    /** An action, or a family of them: `key` matches `key.create`, `key.rotate`, ... */
    action: z.string().regex(/^[A-Za-z][A-Za-z0-9_.:/ -]{0,99}$/, "not an action name").optional(),
  })
  .strict()
  .refine((q) => q.before === undefined || q.after === undefined, { message: "give 'before' or 'after', not both", path: ["after"] });

function entryOf(row: AuditRow) {
  const { summary, ...rest } = row;
  return { object: "audit.entry", ...rest, summary: JSON.parse(summary) as unknown };
}

documented(
  { method: "get", path: "/admin/audit", tag: "Admin: tenants", auth: "admin-or-read", summary: "The audit log of admin changes", query: auditQuery, responses: { 200: { description: "`{object: list, data, has_more, next_before | next_after}`" } } },
  { method: "get", path: "/admin/whoami", tag: "Admin: tenants", auth: "admin-or-read", summary: "The caller's token kind and fingerprint", responses: { 200: { description: "`{object: admin.token, kind, fingerprint}`" } } },
);

export const auditRoutes = new Hono<AppEnv>()
  /** The audit log, newest first by pages, or oldest first after an id (following it); by tenant or action. */
  .get("/audit", async (c) => {
    const q = validate(auditQuery, c.req.query());
    const page = await directoryOf(c).listAudit({ limit: q.limit, before: q.before ?? null, after: q.after ?? null, tenant: q.tenant ?? null, action: q.action ?? null });
    const cursor = q.after === undefined ? { next_before: page.next } : { next_after: page.next };
    return c.json({ object: "list", data: page.data.map(entryOf), has_more: page.next !== null, ...cursor });
  })
  /** Which admin token the caller holds, and its fingerprint (the one audit rows show). */
  .get("/whoami", async (c) => {
    const admin = c.get("admin")!;
    return c.json({ object: "admin.token", kind: admin.kind, fingerprint: await admin.fingerprint() });
  });
