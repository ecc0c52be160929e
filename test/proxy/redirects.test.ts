/**
 * Issue #12, item 2: an origin answering `307 Location: http://other-host/...` made the router POST
 * the whole prompt there and relay that host's answer as a 200; a 302 became a GET. A prompt may
 * only reach the origins the config names, so redirects are never followed: a 3xx is an origin
 * failure, like a 5xx.
 */
import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { chat, newTenant, originSaw, sseData, usageOf } from "../support/client";

const attemptsOf = (res: Response) => res.headers.get("x-router-attempts")!.replace(/;ms=\d+/g, "");

/** Where the redirects point: an origin of the simulator that no scenario used here names. */
const elsewhere = () => `${inject("simUrl")}/pool/v1/chat/completions`;

describe("origin redirects", () => {
  it.each([301, 302, 303, 307, 308])("treats a %i as a failure and falls back, never sending the prompt where it points", async (status) => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", sim: { alpha: { redirect: { status, location: elsewhere() } } } });
    expect(res.status).toBe(200);
    expect(attemptsOf(res)).toBe(`alpha;result=${status}, beta;result=200`);
    expect(res.headers.get("x-router-origin")).toBe("beta");
    expect(((await res.json()) as { object: string }).object).toBe("chat.completion");
    const requestId = res.headers.get("x-request-id")!;
    expect((await originSaw(requestId)).map((r) => `${r.method} ${r.origin}`)).toEqual(["POST alpha", "POST beta"]);
    expect(await usageOf(tenantId, requestId)).toMatchObject({ origin: "beta", status: 200 });
  });

  it("falls back on a redirect before a stream's first byte", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-main", stream: true, sim: { alpha: { redirect: { status: 307, location: elsewhere() } } } });
    expect(res.status).toBe(200);
    expect(attemptsOf(res)).toBe("alpha;result=307, beta;result=200");
    expect(sseData(await res.text()).at(-1)).toBe("[DONE]");
    expect((await originSaw(res.headers.get("x-request-id")!)).map((r) => r.origin)).toEqual(["alpha", "beta"]);
  });

  it("answers 502 when the only origin redirects, and relays nothing of the redirect", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-alpha-only", sim: { alpha: { redirect: { status: 307, location: elsewhere() } } } });
    expect(res.status).toBe(502);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.json()).toEqual({
      error: { message: "Every origin for this model failed. The request can be retried.", type: "upstream_error", param: null, code: "upstream_error" },
    });
    expect((await originSaw(res.headers.get("x-request-id")!)).map((r) => r.origin)).toEqual(["alpha"]);
  });
});
