/**
 * `rewriteSse` cancelled by its reader (issue #17): the source's end that the cancel causes is no
 * end of its events, so `end` (where a Responses stream would be finished and stored as
 * completed) never runs; the rewrite hears of the cancel instead.
 */
import { describe, expect, it } from "vitest";
import { rewriteSse } from "../../src/proxy/sse-transform";

const encoder = new TextEncoder();

describe("rewriteSse", () => {
  it("ends with end() when its source ends, and never after its reader cancelled", async () => {
    const calls: string[] = [];
    const rewrite = { event: (e: string) => `${e}\n\n`, end: () => (calls.push("end"), "data: end\n\n"), cancel: () => void calls.push("cancel") };

    const whole = rewriteSse(new Response("data: 1\n\ndata: 2\n\n").body!, rewrite);
    expect(await new Response(whole).text()).toBe("data: 1\n\ndata: 2\n\ndata: end\n\n");
    expect(calls).toEqual(["end"]);

    calls.length = 0;
    // A source that sends one event, then nothing until it is cancelled (its pending read then ends).
    let sourceCancelled = false;
    const source = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(encoder.encode("data: 1\n\n")),
      cancel: () => void (sourceCancelled = true),
    });
    const reader = rewriteSse(source, rewrite).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: 1\n\n");
    const pending = reader.read();
    await reader.cancel();
    expect(await pending).toEqual({ done: true, value: undefined });
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(["cancel"]);
    expect(sourceCancelled).toBe(true);
  });
});
