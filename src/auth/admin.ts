/**
 * The admin API's guard: `Authorization: Bearer <ADMIN_TOKEN>`. The token is a secret when
 * deployed; when it is not set at all, the admin API refuses every caller (there is no default).
 * An address that failed too often lately is refused with 429 before its token is compared, the
 * right token included: otherwise guessing would only have to watch for the answer that is not a
 * 429 (issue #12, item 1).
 */
import type { MiddlewareHandler } from "hono";
import { activeConfig } from "../config/load";
import type { AppEnv } from "../env";
import { RouterError } from "../openai/errors";
import { isolateState } from "../routing/isolate-state";
import { bearerToken } from "./bearer";
import { clientAddress } from "./failure-limit";

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
}

/** Middleware that lets only the admin token through. */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    const failures = isolateState(c.env).adminFailures;
    const address = clientAddress(c.req.raw, activeConfig(c.env).security.clientAddressHeader);
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
