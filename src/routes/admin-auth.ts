/**
 * The admin API's guard: `Authorization: Bearer <ADMIN_TOKEN>`. The token is a secret when
 * deployed; when it is not set at all, the admin API refuses every caller (there is no default).
 * An address that failed too often lately is refused with 429 before its token is compared, the
 * right token included: otherwise guessing would only have to watch for the answer that is not a
 * 429 (issue #12, item 1).
 */
import type { MiddlewareHandler } from "hono";
import { bearerToken } from "../auth/bearer";
import { clientAddress } from "../auth/failure-limit";
import type { AppEnv } from "../env";
import { isolateOf } from "../isolate";
import { RouterError } from "../openai/errors";

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
}

/** Middleware that lets only the admin token through. */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    const isolate = isolateOf(c.env);
    const failures = isolate.adminFailures;
    const address = clientAddress(c.req.raw, isolate.config.security.clientAddressHeader);
    const now = Date.now();
    const wait = failures.retryAfterSeconds(address, now);
    if (wait > 0) throw new RouterError({ kind: "too_many_auth_failures", retryAfterSeconds: wait });
    const expected = c.env.ADMIN_TOKEN;
    const presented = bearerToken(c.req.header("authorization"));
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (!expected || !presented || !crypto.subtle.timingSafeEqual(await digest(presented), await digest(expected))) {
      failures.fail(address, now);
      throw new RouterError({ kind: "admin_unauthorized" });
    }
    await next();
  };
}
