/**
 * Issue #12, item 4: an origin's 400 message that quoted the router's `Authorization` value came
 * back to the tenant verbatim. Every configured secret, and anything shaped like a credential, is
 * scrubbed from origin text the router passes on.
 */
import { describe, expect, it } from "vitest";
import { REDACTED, scrubJson, secretScrubber } from "../../src/proxy/scrub";
import { chat, newTenant, sseData } from "../support/client";
import { ADMIN_TOKEN, ALPHA_API_KEY } from "../support/router-config";

describe("secretScrubber", () => {
  const scrub = secretScrubber(["sk-live-configured-0123456789", "short", undefined, "sk-live-configured-0123456789-longer"]);

  it.each([
    ["a configured value, the longest first", "got sk-live-configured-0123456789-longer", `got ${REDACTED}`],
    ["a bearer token", 'header "Authorization: Bearer abc.def-ghi_jkl" refused', `header "Authorization: Bearer ${REDACTED}" refused`],
    ["Basic credentials", "Basic dXNlcjpwYXNzd29yZA==", `Basic ${REDACTED}`],
    ["an sk- key nobody configured", "key sk-proj-ABCDEFGHIJKLMNOPQRST is invalid", `key sk-${REDACTED} is invalid`],
    ["one of our tenant keys", "tr-acme-7Hq2xYz_abcdefghijkl-mnop", `tr-${REDACTED}`],
    ["api_key=…", "?api_key=hunter2hunter2&x=1", `?api_key=${REDACTED}&x=1`],
    ['"token": "…"', '{"token": "eyJhbGciOi.payload.sig"}', `{"token": "${REDACTED}"}`],
  ])("replaces %s", (_, text, expected) => {
    expect(scrub(text)).toBe(expected);
  });

  it.each([
    ["ordinary text", "The prompt is too long for this model's context (8192 tokens)."],
    ["a short configured value", "a short answer"],
    ["field names", "max_tokens: 4096, token_count=12"],
  ])("leaves %s alone", (_, text) => {
    expect(scrub(text)).toBe(text);
  });

  it("scrubs every string inside a JSON value, and keeps the rest", () => {
    expect(scrubJson({ error: { message: "Bearer abcdefghijkl", code: 400, list: ["sk-live-configured-0123456789", null] } }, scrub)).toEqual({
      error: { message: `Bearer ${REDACTED}`, code: 400, list: [REDACTED, null] },
    });
  });
});

describe("origin text through the router", () => {
  it("scrubs an origin's 4xx message that quotes the router's key, other keys and the admin token", async () => {
    const { key } = await newTenant();
    const message = `Invalid header Authorization={authorization}; also saw sk-proj-ABCDEFGHIJKLMNOPQRST, api_key=hunter2hunter2 and ${ADMIN_TOKEN}`;
    const res = await chat(key, { model: "chat-alpha-only", sim: { alpha: { status: 400, message } } });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain(ALPHA_API_KEY);
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(JSON.parse(text)).toEqual({
      error: {
        message: `Invalid header Authorization=Bearer ${REDACTED}; also saw sk-${REDACTED}, api_key=${REDACTED} and ${REDACTED}`,
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
  });

  it("scrubs an error event the origin sends mid-stream", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-alpha-only", stream: true, sim: { alpha: { errorEventAfterChunks: 2, message: "upstream failure; the key was {authorization}" } } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(ALPHA_API_KEY);
    const errors = sseData(text).filter((e): e is Record<string, unknown> => e !== "[DONE]" && "error" in e);
    expect(errors[0]).toEqual({ error: { message: `upstream failure; the key was Bearer ${REDACTED}`, type: "server_error", param: null, code: null } });
    // The stream did not complete: the router's own error event follows.
    expect(errors[1]).toMatchObject({ error: { code: "upstream_stream_broken" } });
  });
});
