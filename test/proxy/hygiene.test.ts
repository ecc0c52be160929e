import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { chat, newTenant, originSaw } from "../support/client";
import { ALPHA_API_KEY } from "../support/router-config";

describe("header hygiene", () => {
  it("never forwards client credentials, cookies, hop-by-hop or proxy headers; injects the origin's key", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-main" }, {
      cookie: "session=secret-cookie",
      "x-api-key": "client-x-api-key",
      "proxy-authorization": "Basic Zm9vOmJhcg==",
      connection: "keep-alive, x-custom-hop",
      "x-custom-hop": "1",
      "x-forwarded-for": "203.0.113.9",
      "cf-connecting-ip": "203.0.113.9",
      "user-agent": "OpenAI/JS 6.30.1",
      "openai-beta": "assistants=v2",
    });
    expect(res.status).toBe(200);
    const [seen] = await originSaw(res.headers.get("x-request-id")!);
    const headers = seen!.headers;
    expect(headers.authorization).toBe(`Bearer ${ALPHA_API_KEY}`);
    expect(headers["user-agent"]).toBe("OpenAI/JS 6.30.1");
    expect(headers["openai-beta"]).toBe("assistants=v2");
    expect(headers["x-request-id"]).toBe(res.headers.get("x-request-id"));
    for (const name of ["cookie", "x-api-key", "proxy-authorization", "x-custom-hop", "x-forwarded-for", "cf-connecting-ip"]) {
      expect(headers[name], name).toBeUndefined();
    }
    expect(JSON.stringify(seen)).not.toContain(key);
  });

  it("never sends the tenant's key to an origin without its own key", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-deepseek" });
    const [seen] = await originSaw(res.headers.get("x-request-id")!);
    expect(seen!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(key);
  });
});

describe("CORS", () => {
  it("answers a browser's preflight and exposes the router's headers", async () => {
    const preflight = await SELF.fetch("http://router.test/v1/chat/completions", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("authorization,content-type");
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-pool" }, { origin: "https://app.example" });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const exposed = res.headers.get("access-control-expose-headers")!.split(/,\s*/);
    // Every header of ours the answer carries can be read by the page's script.
    const ours = [...res.headers.keys()].filter((name) => name.startsWith("x-"));
    expect(ours).toEqual(expect.arrayContaining(["x-request-id", "x-router-origin", "x-router-priority", "x-router-affinity", "x-ratelimit-remaining-requests"]));
    expect(ours.filter((name) => !exposed.includes(name))).toEqual([]);
    expect(exposed).toContain("x-router-decision");
    const server = await chat(key, { model: "chat-pool" });
    expect(server.headers.get("access-control-allow-origin")).toBeNull();
  });
});
