/** The app's plumbing: the request id, and the router that keeps the proxied routes' matches. */
import { TrieRouter } from "hono/router/trie-router";
import { describe, expect, it } from "vitest";
import { MemoRouter } from "../../src/lib/memo-router";
import { newRequestId, requestIdTime } from "../../src/lib/request-id";

describe("the request id", () => {
  it("is `req_`, the arrival's millisecond in 12 hex digits, and 20 random hex digits", () => {
    const at = Date.now();
    const id = newRequestId(at);
    expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(id.slice(4, 16)).toBe(at.toString(16).padStart(12, "0"));
    expect(newRequestId(0).slice(0, 16)).toBe("req_000000000000");
  });

  it("gives back the arrival it carries, and nothing for a string that is not one of its ids", () => {
    const at = Date.now();
    expect(requestIdTime(newRequestId(at))).toBe(at);
    expect(requestIdTime(newRequestId(0))).toBe(0);
    for (const other of ["", "req_", "not-an-id", `req_${"0".repeat(31)}`, `req_${"0".repeat(33)}`, `req_${"A".repeat(32)}`, `REQ_${"0".repeat(32)}`, `chatcmpl-${"0".repeat(32)}`]) {
      expect(requestIdTime(other)).toBeNull();
    }
  });

  it("never repeats, across refills of its random pool, and sorts by arrival", () => {
    const base = Date.now();
    const ids = Array.from({ length: 2_000 }, (_, i) => newRequestId(base + Math.floor(i / 500)));
    expect(new Set(ids).size).toBe(ids.length);
    // Ids of later milliseconds sort after earlier ones (the usage table's key grows with time).
    for (let i = 500; i < ids.length; i += 500) expect(ids[i - 1]! < ids[i]!).toBe(true);
    // The random part is not a counter: consecutive ids differ in more than their last digits.
    const tails = new Set(ids.slice(0, 500).map((id) => id.slice(16, 20)));
    expect(tails.size).toBeGreaterThan(400);
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
