/**
 * The headers of every console response. The Content-Security-Policy allows the console's own
 * script and stylesheet and nothing else: no inline script or style (charts are SVG with
 * attributes and classes, not `style`), no other origin, no framing (`frame-ancestors 'none'`,
 * with `X-Frame-Options` for older browsers), forms posted only here.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
};

/** Middleware: the security headers on every console answer; pages are never cached (they show live data). */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async function consoleSecurityHeaders(c, next) {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
  };
}
