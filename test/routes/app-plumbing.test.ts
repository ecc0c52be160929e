/** The app's plumbing: the request id, and the router that keeps the proxied routes' matches. */
import { TrieRouter } from "hono/router/trie-router";
import { describe, expect, it } from "vitest";
import { requestIdOf } from "../../src/app";
import { MemoRouter } from "../../src/lib/memo-router";

describe("the request id", () => {
  it("is `req_` and the UUID without its dashes", () => {
    for (let i = 0; i < 1000; i++) {
      const uuid = crypto.randomUUID();
      expect(requestIdOf(uuid)).toBe(`req_${uuid.replace(/-/g, "")}`);
    }
    expect(requestIdOf("01234567-89ab-cdef-0123-456789abcdef")).toBe("req_0123456789abcdef0123456789abcdef");
  });
});

describe("MemoRouter", () => {
  const routes: Array<[string, string, string]> = [
    ["ALL", "/*", "log"],
    ["ALL", "/v1/*", "cors"],
    ["POST", "/v1/chat/completions", "chat"],
    ["ALL", "/v1/chat/completions", "405"],
    ["GET", "/v1/usage/summary", "summary"],
    ["GET", "/v1/usage/:request_id", "record"],
  ];
  const build = () => {
    const plain = new TrieRouter<string>();
    const memo = new MemoRouter(new TrieRouter<string>(), new Set(["POST /v1/chat/completions", "GET /v1/usage/summary"]));
    for (const [method, path, handler] of routes) {
      plain.add(method, path, handler);
      memo.add(method, path, handler);
    }
    return { plain, memo };
  };

  it("answers as the router it wraps, every time, kept or not", () => {
    const { plain, memo } = build();
    const asked: Array<[string, string]> = [
      ["POST", "/v1/chat/completions"],
      ["GET", "/v1/chat/completions"],
      ["GET", "/v1/usage/summary"],
      ["GET", "/v1/usage/req_1"],
      ["POST", "/nowhere"],
    ];
    for (let round = 0; round < 3; round++) for (const [method, path] of asked) expect(memo.match(method, path)).toEqual(plain.match(method, path));
    expect(memo.match("POST", "/v1/chat/completions")).toBe(memo.match("POST", "/v1/chat/completions"));
    expect(memo.match("GET", "/v1/usage/req_1")).not.toBe(memo.match("GET", "/v1/usage/req_1"));
  });

  it("forgets what it kept when a route is added", () => {
    const { memo } = build();
    const before = memo.match("POST", "/v1/chat/completions");
    memo.add("POST", "/v1/chat/completions", "second");
    const after = memo.match("POST", "/v1/chat/completions");
    expect(after).not.toBe(before);
    expect(after[0].map(([handler]) => handler)).toEqual(["log", "cors", "chat", "405", "second"]);
  });
});
