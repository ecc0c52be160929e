/**
 * Turning a generator of chunks into a response body that behaves like a real connection:
 * one chunk per event, produced only when the reader asks, broken (errored) when the generator
 * throws, and stopped when the reader cancels.
 */

/**
 * A pull-driven byte stream over an async generator of chunks.
 *
 * `highWaterMark: 0` means nothing is produced ahead of a read. That matters twice: the generator's
 * delays run in step with the reader (no runaway buffering), and a fault that errors the stream
 * after N chunks cannot discard chunks still queued — erroring a ReadableStream drops its queue,
 * so with a queue the client could see fewer than N chunks before the break.
 *
 * `onEnd` runs when the body is over for any reason: it closed, errored or was cancelled (it may
 * run more than once, e.g. a cancel that also makes a pending chunk fail, so it must be idempotent).
 * @example
 * new Response(pullStream(events(), () => lifetime.abort()))
 */
export function pullStream(
  chunks: AsyncGenerator<Uint8Array, void, void>,
  onCancel: (reason: unknown) => void,
  onEnd: () => void = () => {},
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let step: IteratorResult<Uint8Array, void>;
        try {
          step = await chunks.next();
        } catch (err) {
          onEnd();
          // A throw here errors the stream: that is how a "cut" reaches the reader.
          throw err;
        }
        if (step.done) {
          onEnd();
          controller.close();
        } else controller.enqueue(step.value);
      },
      cancel(reason) {
        onCancel(reason);
        onEnd();
      },
    },
    { highWaterMark: 0 },
  );
}

const encoder = new TextEncoder();

/** One server-sent event carrying `data`, as bytes: `data: <data>\n\n`. */
export function sseEvent(data: string): Uint8Array {
  return encoder.encode(`data: ${data}\n\n`);
}

/** The error a deliberately broken body stream fails with. */
export class SimulatedCutError extends Error {
  constructor(message = "sim fault: connection cut") {
    super(message);
    this.name = "SimulatedCutError";
  }
}
