/**
 * How the console reads and changes anything: the admin API's own routes (`adminApi`), called
 * in-process, for the signed-in session. So every number the console shows is what the API
 * answers for the same path, and every change goes through the same validation and the same
 * audit log (recorded under the session's token fingerprint, as the API would record it).
 *
 * What a session may call is checked here once more, whatever the pages ask: a read-only session
 * only GETs; a tenant session only GETs its own tenant's paths (the tenant, its keys, limits,
 * budgets and usage). The session itself is the only way in: the in-process app takes its caller
 * from a request the console made, never from anything a client sent.
 */
import { Hono, type Context } from "hono";
import type { AdminCaller } from "../auth/admin-token";
import type { AppEnv } from "../env";
import { RouterError, toErrorResponse } from "../openai/errors";
import type { RequestLog } from "../observe/request-log";
import { auditTrail } from "../routes/admin-audit";
import { READ_METHODS } from "../routes/admin-auth";
import { adminApi } from "../routes/admin";
import type { Session } from "./session";

interface InProcessCall {
  caller: AdminCaller;
  requestId: string;
  log: RequestLog;
}

/** The console's own requests, and who made them. A client's request is never in here. */
const calls = new WeakMap<Request, InProcessCall>();

const inProcess = new Hono<AppEnv>()
  .use(async function consoleCaller(c, next) {
    const call = calls.get(c.req.raw);
    if (!call) throw new RouterError({ kind: "admin_unauthorized" });
    c.set("requestId", call.requestId);
    c.set("log", call.log);
    c.set("admin", call.caller);
    await next();
  })
  .use(auditTrail())
  .route("/admin", adminApi);
inProcess.notFound((c) => toErrorResponse({ kind: "unknown_route", method: c.req.method, path: c.req.path }));
inProcess.onError((error, c) => {
  if (error instanceof RouterError) return toErrorResponse(error.failure);
  console.error(`request ${c.get("requestId")}: unhandled error in a console call`, error);
  return toErrorResponse({ kind: "internal" });
});

/** The paths below `/admin/tenants/<own>` a tenant session may read. */
const TENANT_PATHS = /^(|\/keys|\/keys\/[A-Za-z0-9_-]{1,64}(\/limits)?|\/limits|\/budgets|\/usage|\/usage\/summary)$/;

/** Whether the session may make this call (see the module comment). */
export function mayCall(session: Pick<Session, "role" | "tenant">, method: string, path: string): boolean {
  if (session.role === "admin") return true;
  if (!READ_METHODS.has(method)) return false;
  if (session.role === "read") return true;
  const own = `/admin/tenants/${session.tenant}`;
  const pathname = path.split("?")[0]!;
  return session.tenant !== null && pathname.startsWith(own) && TENANT_PATHS.test(pathname.slice(own.length));
}

/** An answer of the admin API: its status, and its JSON body (or the OpenAI error's message). */
export type ApiAnswer<T> = { ok: true; status: number; data: T } | { ok: false; status: number; message: string; code: string | null };

export class AdminClient {
  constructor(
    private readonly c: Context<AppEnv>,
    private readonly session: Session,
  ) {}

  /** The raw answer of an admin path (e.g. a CSV export to pass through). */
  async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    if (!path.startsWith("/admin/") || !mayCall(this.session, method, path)) {
      return toErrorResponse(this.session.role === "tenant" ? { kind: "not_found", what: "This page" } : { kind: "admin_read_only", method });
    }
    const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
    const request = new Request(new URL(path, this.c.req.url), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const fingerprint = this.session.fp;
    calls.set(request, {
      caller: { kind: this.session.role === "admin" ? "admin" : "read", fingerprint: async () => fingerprint },
      requestId: this.c.get("requestId"),
      log: this.c.get("log"),
    });
    return inProcess.fetch(request, this.c.env, this.c.executionCtx);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const res = await this.fetch(method, path, body);
    const json = (await res.json().catch(() => null)) as unknown;
    if (res.ok) return { ok: true, status: res.status, data: json as T };
    const error = (json as { error?: { message?: string; code?: string | null } } | null)?.error;
    return { ok: false, status: res.status, message: error?.message ?? `HTTP ${res.status}`, code: error?.code ?? null };
  }

  get<T>(path: string): Promise<ApiAnswer<T>> {
    return this.call<T>("GET", path);
  }
}
