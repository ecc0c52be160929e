/**
 * Issue #12, item 8: clients that aborted a stalled stream left the origin call running and the
 * money reserved until the total timeout, recorded as `stream_timeout`; an aborted non-streamed
 * request did not cancel its origin call and was recorded as `ok`. A client that leaves cancels the
 * origin call and is settled at once, as cancelled, and no other origin is tried for it.
 */
import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it, inject } from "vitest";
import { estimateTokens } from "../../src/openai/usage";
import { ledgerOf, newTenant, originSaw, readUntilKeepAlive, usageOf, waitFor } from "../support/client";
import { HEARTBEAT_MS, TOTAL_MS } from "../support/router-config";

async function inFlightAtHangup(): Promise<number> {
  const stats = (await (await fetch(`${inject("simUrl")}/_sim/stats`)).json()) as { origins: Record<string, { inFlight: number }> };
  return stats.origins.hangup!.inFlight;
}

/** The request id of the tenant's one open reservation: known before any answer arrives. */
async function openRequestId(tenantId: string): Promise<string> {
  const ids = await waitFor(
    "the reservation",
    () => runInDurableObject(ledgerOf(tenantId), (_, s) => s.storage.sql.exec<{ id: string }>("SELECT request_id AS id FROM reservations").toArray().map((r) => r.id)),
    (v) => v.length === 1,
    { everyMs: 10 },
  );
  return ids[0]!;
}

function send(key: string, body: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
  return SELF.fetch("http://router.test/v1/chat/completions", {
    method: "POST",
    signal,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "chat-hangup", messages: [{ role: "user", content: "Hello there" }], ...body }),
  });
}

describe("a client that goes away", () => {
  it("cancels a non-streamed request's origin call and is settled as cancelled, with the prompt the origin worked on", async () => {
    const { tenantId, key } = await newTenant();
    const before = await inFlightAtHangup();
    const client = new AbortController();
    // The origin sends its headers, then nothing: the router waits on the body.
    const body = { max_tokens: 8, sim: { hangup: { stallAfterChunks: 0 } } };
    const pending = send(key, body, client.signal).catch((e: unknown) => e);
    const requestId = await openRequestId(tenantId);
    await waitFor("the origin to be working", inFlightAtHangup, (n) => n === before + 1, { everyMs: 10 });
    const leftAt = Date.now();
    client.abort();
    expect(await pending).toBeInstanceOf(Error);
    const row = await usageOf(tenantId, requestId);
    const requestBytes = JSON.stringify({ model: "chat-hangup", messages: [{ role: "user", content: "Hello there" }], ...body }).length;
    expect(row).toMatchObject({
      origin: "hangup",
      status: 499,
      outcome: "cancelled",
      usageSource: "estimated",
      promptTokens: estimateTokens(requestBytes),
      completionTokens: 0,
      // hangup's prices: 1 µ$ per input token.
      costMicros: estimateTokens(requestBytes),
    });
    expect(row.latencyMs).toBeLessThan(TOTAL_MS);
    // The origin call was cancelled, not left to run, and no other origin was tried.
    await waitFor("the origin call to end", inFlightAtHangup, (n) => n === before, { everyMs: 10 });
    expect(Date.now() - leftAt).toBeLessThan(TOTAL_MS);
    expect((await originSaw(requestId)).map((r) => r.origin)).toEqual(["hangup"]);
  });

  it("cancels a stalled stream's origin call and is settled as stream_cancelled for what was delivered", async () => {
    const { tenantId, key } = await newTenant();
    const before = await inFlightAtHangup();
    const client = new AbortController();
    const res = await send(key, { stream: true, max_tokens: 8, sim: { hangup: { stallAfterChunks: 2 } } }, client.signal);
    expect(res.status).toBe(200);
    await readUntilKeepAlive(res);
    client.abort();
    const row = await usageOf(tenantId, res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ origin: "hangup", status: 200, outcome: "stream_cancelled", usageSource: "estimated", completionTokens: 2 });
    expect(row.latencyMs).toBeLessThan(TOTAL_MS);
    await waitFor("the origin call to end", inFlightAtHangup, (n) => n === before, { everyMs: 10 });
  });

  it("notices a client that cancels a silent stream without leaving, and cancels the origin call", async () => {
    const { tenantId, key } = await newTenant();
    const before = await inFlightAtHangup();
    // The request's own signal never fires: the client only cancels the body it was reading.
    const res = await send(key, { stream: true, max_tokens: 8, sim: { hangup: { stallAfterChunks: 2 } } }, new AbortController().signal);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes(": keep-alive")) text += decoder.decode((await reader.read()).value!);
    await reader.cancel();
    const row = await usageOf(tenantId, res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ origin: "hangup", status: 200, outcome: "stream_cancelled", usageSource: "estimated", completionTokens: 2 });
    expect(row.latencyMs).toBeLessThan(TOTAL_MS);
    await waitFor("the origin call to end", inFlightAtHangup, (n) => n === before, { everyMs: 10 });
  });

  it("keeps a silent stream alive with SSE comments that clients ignore", async () => {
    const { key } = await newTenant();
    const res = await send(key, { stream: true, max_tokens: 4, sim: { hangup: { ttftMs: 0, decodeTokensPerSec: 1000 / (HEARTBEAT_MS * 1.5) } } }, new AbortController().signal);
    const text = await res.text();
    // Tokens 1.5 heartbeats apart: a comment in each gap, and the stream otherwise intact.
    expect(text.match(/^: keep-alive\n\n/gm)?.length).toBeGreaterThanOrEqual(2);
    expect(text.replace(/^: keep-alive\n\n/gm, "")).not.toContain("keep-alive");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });
});
