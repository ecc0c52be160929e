/**
 * The floor for a Worker router that *meters*: the least any router must do to bill a request by
 * its tokens, and no more. POST /v1/chat/completions reads and parses the client's JSON, names
 * the origin's model, sends it with the origin's key, and
 * - not streamed: reads and parses the answer, prices its usage into `usage.cost`, and returns it
 *   re-serialized;
 * - streamed: asks for the usage chunk and relays the stream through JavaScript, chunk by chunk,
 *   looking at each for it (as the usage must be seen to be billed).
 * No authentication, budgets, rate limits, routing, fallback, headers, logs or state. The pass-through
 * Worker (`passthrough-worker.js`) is the floor of a router that only forwards; this one is the floor
 * of a router that meters: what Token Router costs beyond it is its own work (admission, placement,
 * fallback, settlement, observability).
 *
 * `ORIGIN_URL` is the origin's API root (`.../v1`), `ORIGIN_MODEL` the model it serves.
 */

/** Prices in micro-dollars per million tokens (any will do: the arithmetic is what is measured). */
const PRICES = { input: 270_000, output: 1_100_000 };

/** @param {any} usage */
function price(usage) {
  const input = Number(usage.prompt_tokens) || 0;
  const output = Number(usage.completion_tokens) || 0;
  return Math.round((input * PRICES.input + output * PRICES.output) / 1e6) / 1e6;
}

const decoder = new TextDecoder();

/**
 * Relays `body` to the returned stream chunk by chunk, looking in each for the usage chunk.
 * @param {ReadableStream<Uint8Array>} body
 * @param {{ waitUntil(p: Promise<unknown>): void }} ctx
 */
function relay(body, ctx) {
  // workerd's byte stream that the runtime itself drains to the client (the router's relay writes to one too).
  const { readable, writable } = new IdentityTransformStream();
  const reader = body.getReader();
  const writer = writable.getWriter();
  ctx.waitUntil(
    (async () => {
      let usage = null;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const text = decoder.decode(value);
          const at = text.indexOf('"usage":{');
          if (at >= 0) usage = text.slice(at);
          await writer.write(value);
        }
        await writer.close();
      } catch (e) {
        await writer.abort(e).catch(() => {});
      }
      return usage;
    })(),
  );
  return readable;
}

export default {
  /**
   * @param {Request} request
   * @param {{ ORIGIN_URL: string, ORIGIN_MODEL: string }} env
   * @param {{ waitUntil(p: Promise<unknown>): void }} ctx
   * @returns {Promise<Response>}
   */
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/v1/chat/completions") {
      /** @type {any} */
      const body = await request.json();
      body.model = env.ORIGIN_MODEL;
      const stream = body.stream === true;
      if (stream) body.stream_options = { include_usage: true };
      const upstream = await fetch(`${env.ORIGIN_URL}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-origin" },
        body: JSON.stringify(body),
      });
      if (!upstream.ok || !upstream.body) return upstream;
      if (stream) return new Response(relay(upstream.body, ctx), { headers: { "content-type": "text/event-stream" } });
      /** @type {any} */
      const answer = await upstream.json();
      if (answer.usage) answer.usage.cost = price(answer.usage);
      return new Response(JSON.stringify(answer), { headers: { "content-type": "application/json" } });
    }
    if (url.pathname === "/") return new Response("metering\n");
    return new Response("not found\n", { status: 404 });
  },
};
