/** Driving the console as a browser would, through `SELF.fetch`: cookies, forms, Origin. */
import { SELF } from "cloudflare:test";

export const BASE = "http://router.test";
export const SESSION_COOKIE = "__Host-tr_console";

/** A browser's cookie jar for one host (names and values only). */
export class Browser {
  readonly cookies = new Map<string, string>();

  private take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") } : {};
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await SELF.fetch(`${BASE}${path}`, { redirect: "manual", headers: { ...this.cookieHeader(), ...headers } });
    this.take(res);
    return res;
  }

  /**
   * A form POST from the console's own page (Origin and Sec-Fetch-Site as a browser sets them),
   * unless `headers` say otherwise (null: the header is not sent).
   */
  async post(path: string, form: Record<string, string>, headers: Record<string, string | null> = {}): Promise<Response> {
    const all: Record<string, string | null> = { origin: BASE, "sec-fetch-site": "same-origin", "content-type": "application/x-www-form-urlencoded", ...this.cookieHeader(), ...headers };
    const res = await SELF.fetch(`${BASE}${path}`, {
      method: "POST",
      redirect: "manual",
      headers: Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== null)),
      body: new URLSearchParams(form).toString(),
    });
    this.take(res);
    return res;
  }

  /** Signs in with a token or key; returns the sign-in POST's answer. */
  async signIn(token: string): Promise<Response> {
    const page = await (await this.get("/console/sign-in")).text();
    return this.post("/console/sign-in", { _csrf: csrfOf(page), token });
  }
}

/** The CSRF token of the first form on a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error("no CSRF field on the page");
  return m[1]!;
}

/** Every bound number on a page: its API path, field and raw value. */
export function boundValues(html: string): Array<{ api: string; field: string; value: string }> {
  const out: Array<{ api: string; field: string; value: string }> = [];
  for (const m of html.matchAll(/data-api="([^"]*)" data-field="([^"]*)" data-value="([^"]*)"/g)) {
    const unescape = (s: string) => s.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#39;/g, "'");
    out.push({ api: unescape(m[1]!), field: unescape(m[2]!), value: unescape(m[3]!) });
  }
  return out;
}
