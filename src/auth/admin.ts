/**
 * The admin API's guard: `Authorization: Bearer <ADMIN_TOKEN>`. The token is a secret when
 * deployed; when it is not set at all, the admin API refuses every caller (there is no default).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { RouterError } from "../openai/errors";
import { bearerToken } from "./bearer";

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
}

/** Middleware that lets only the admin token through. */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    const expected = c.env.ADMIN_TOKEN;
    const presented = bearerToken(c.req.header("authorization"));
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (!expected || !presented || !crypto.subtle.timingSafeEqual(await digest(presented), await digest(expected))) {
      throw new RouterError({ kind: "admin_unauthorized" });
    }
    await next();
  };
}
