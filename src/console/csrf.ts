/**
 * Cross-site request forgery, refused twice over on every console form POST:
 * 1. the form carries a token only the server can make: a MAC of the session's id (signed in), or
 *    of the sign-in cookie's nonce (the sign-in form), under the session key;
 * 2. the browser's own word on where the request comes from: `Sec-Fetch-Site`, when sent, must be
 *    `same-origin`, and `Origin` must be sent and name this host.
 * SameSite=Strict cookies would already keep a cross-site POST from carrying the session; these
 * hold even where a browser or a proxy gets that wrong (OWASP CSRF Prevention Cheat Sheet:
 * "synchronizer token" and "verifying origin with standard headers").
 */
import { mac, sameText } from "./session";

/** The form field every console POST carries. */
export const CSRF_FIELD = "_csrf";

/** The CSRF token of a signed-in session. */
export function csrfToken(key: CryptoKey, sessionId: string): Promise<string> {
  return mac(key, "csrf", sessionId, 24);
}

/** The CSRF token of the sign-in form, bound to the nonce in its short-lived cookie. */
export function signInToken(key: CryptoKey, nonce: string): Promise<string> {
  return mac(key, "sign-in", nonce, 24);
}

/** Whether the form's token is the expected one (constant time). */
export async function tokenMatches(expected: string, given: unknown): Promise<boolean> {
  return typeof given === "string" && given.length > 0 && (await sameText(expected, given));
}

/**
 * Whether the browser says the request comes from this site: `Sec-Fetch-Site` (if sent) is
 * `same-origin`, and `Origin` is sent and names the host the request was made to. The scheme is
 * not compared: behind a TLS-terminating proxy the Worker sees http for an https page.
 */
export function sameOrigin(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin") return false;
  const origin = request.headers.get("origin");
  if (!origin || origin === "null") return false;
  try {
    return new URL(origin).host === new URL(request.url).host;
  } catch {
    return false;
  }
}
