/**
 * An SSE stream rewritten event by event: what reads a Responses origin's events as chat chunks
 * (`forward.ts`), and what turns the relayed chat stream into the client's Responses events
 * (`request/responses-answer.ts`). Pulled: nothing is read from the source before the reader asks,
 * so the source's pace (and its fallback window, its timeouts) stays the reader's.
 */

const encoder = new TextEncoder();

/** How a stream's events are rewritten. */
export interface SseRewrite {
  /** Text sent before the first event. */
  start?(): string;
  /** The text for one complete event (its lines, without the blank line that ends it); "" drops it. */
  event(event: string): string | Promise<string>;
  /** Text sent once the source has ended (after its last event). */
  end?(): string | Promise<string>;
}

/**
 * A readable stream of `source`'s events as `rewrite` makes them. A source that fails makes it
 * fail (the reader sees the read error); cancelling it cancels the source.
 */
export function rewriteSse(source: ReadableStream<Uint8Array>, rewrite: SseRewrite): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const head = rewrite.start?.() ?? "";
        if (head) controller.enqueue(encoder.encode(head));
      },
      async pull(controller) {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            buffer += decoder.decode();
            let tail = buffer.trim() === "" ? "" : await rewrite.event(buffer.replace(/\r\n?/g, "\n").replace(/\n+$/, ""));
            tail += (await rewrite.end?.()) ?? "";
            if (tail) controller.enqueue(encoder.encode(tail));
            controller.close();
            return;
          }
          buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let out = "";
          let boundary: number;
          while ((boundary = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            out += await rewrite.event(event);
          }
          if (out) {
            controller.enqueue(encoder.encode(out));
            return;
          }
        }
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
