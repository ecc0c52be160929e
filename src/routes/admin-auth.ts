/**
 * The admin API's guard: `Authorization: Bearer <token>`, the admin token (`ADMIN_TOKEN`) for
 * everything, or the read-only one (`ADMIN_READ_TOKEN`, optional) for reads alone: any method but
 * GET (HEAD included) is refused it with 403, before the route runs. Both are secrets when deployed;
 * when neither is set, the admin API refuses every caller (there is no default).
 *
 * An address that failed too often lately is refused with 429 before its token is compared, the
 * right token included: otherwise guessing would only have to watch for the answer that is not a
 * 429 (issue #12, item 1).
 */
import type { MiddlewareHandler } from "hono";
import { adminTokenKind, tokenFingerprint, type AdminCaller } from "../auth/admin-token";
import { bearerToken } from "../auth/bearer";
import { clientAddress } from "../auth/failure-limit";
import type { AppEnv } from "../env";
import { isolateOf } from "../isolate";
import { RouterError } from "../openai/errors";

/** Methods that read: the only ones the read-only token may use. */
export const READ_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD"]);

/** Middleware that lets admin tokens through, the read-only one to reads only; sets `admin`. */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    const isolate = isolateOf(c.env);
    const failures = isolate.adminFailures;
    const address = clientAddress(c.req.raw, isolate.config.security.clientAddressHeader);
    const now = Date.now();
    const wait = failures.retryAfterSeconds(address, now);
    if (wait > 0) throw new RouterError({ kind: "too_many_auth_failures", retryAfterSeconds: wait });
    const presented = bearerToken(c.req.header("authorization"));
    const kind = presented ? await adminTokenKind(presented, { admin: c.env.ADMIN_TOKEN, read: c.env.ADMIN_READ_TOKEN }) : null;
    if (!presented || !kind) {
      failures.fail(address, now);
      throw new RouterError({ kind: "admin_unauthorized" });
    }
    if (kind === "read" && !READ_METHODS.has(c.req.method)) throw new RouterError({ kind: "admin_read_only", method: c.req.method });
    let fingerprint: Promise<string> | undefined;
    const caller: AdminCaller = { kind, fingerprint: () => (fingerprint ??= isolate.keys.signingKey().then((key) => tokenFingerprint(key, presented))) };
    c.set("admin", caller);
    await next();
  };
}
