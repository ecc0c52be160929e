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
  /** Text sent once the source has ended (after its last event); never called once the reader cancelled. */
  end?(): string | Promise<string>;
  /** The reader cancelled the stream (the client left): no `end`, nothing more is sent. */
  cancel?(): void;
}

/**
 * A readable stream of `source`'s events as `rewrite` makes them. A source that fails makes it
 * fail (the reader sees the read error); cancelling it cancels the source and tells `rewrite`
 * (`cancel`), and a read then pending ends with nothing more rewritten: the source's end that
 * the cancel caused is no end of its events.
 */
export function rewriteSse(source: ReadableStream<Uint8Array>, rewrite: SseRewrite): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const head = rewrite.start?.() ?? "";
        if (head) controller.enqueue(encoder.encode(head));
      },
      async pull(controller) {
        for (;;) {
          const { done, value } = await reader.read();
          if (cancelled) return;
          if (done) {
            buffer += decoder.decode();
            let tail = buffer.trim() === "" ? "" : await rewrite.event(buffer.replace(/\r\n?/g, "\n").replace(/\n+$/, ""));
            tail += (await rewrite.end?.()) ?? "";
            if (cancelled) return;
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
          if (cancelled) return;
          if (out) {
            controller.enqueue(encoder.encode(out));
            return;
          }
        }
      },
      async cancel(reason) {
        cancelled = true;
        rewrite.cancel?.();
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
