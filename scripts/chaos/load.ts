/**
 * The crash test's client: a few concurrent loops of chat requests, streamed and not, that keep
 * going while the router dies and comes back, and remember what each request's fate looked like
 * from outside. That record is what the ledger is checked against afterwards.
 */

/** How one request ended, as the client saw it. */
export type Fate =
  /** 200 and the whole body (for a stream: through `data: [DONE]`). */
  | "served"
  /** 200, then the body broke (the router died mid-answer). */
  | "broken"
  /** Another HTTP status (429 insufficient_quota near the limit, ...). */
  | "refused"
  /** No connection at all: the router was down. Never admitted. */
  | "unreachable"
  /** Connected, then no answer: admitted or not, the client cannot know. */
  | "lost";

export interface Outcome {
  fate: Fate;
  status: number | null;
  /** `x-request-id`, when headers arrived. */
  requestId: string | null;
  stream: boolean;
}

export interface LoadOptions {
  url: string;
  key: string;
  model: string;
  concurrency: number;
  maxTokens: number;
}

/** A running load: what it has seen so far, and a way to stop it. */
export interface Load {
  outcomes: Outcome[];
  /** Stops sending; resolves when every request in flight has ended. */
  stop(): Promise<void>;
}

/** True for errors that mean the connection was never made (the router is down). */
function neverConnected(error: unknown): boolean {
  return (error as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED";
}

async function once(options: LoadOptions, stream: boolean, n: number): Promise<Outcome> {
  const body = JSON.stringify({
    model: options.model,
    // A different prompt per request: no two requests are the same to the cache or the ledger.
    messages: [{ role: "user", content: `chaos request ${n}: tell me about budgets` }],
    max_tokens: options.maxTokens,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
  let res: Response;
  try {
    res = await fetch(`${options.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.key}`, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    return { fate: neverConnected(e) ? "unreachable" : "lost", status: null, requestId: null, stream };
  }
  const requestId = res.headers.get("x-request-id");
  try {
    const text = await res.text();
    if (res.status !== 200) return { fate: "refused", status: res.status, requestId, stream };
    const complete = stream ? text.includes("data: [DONE]") : (JSON.parse(text) as { object?: string }).object === "chat.completion";
    return { fate: complete ? "served" : "broken", status: 200, requestId, stream };
  } catch {
    return { fate: res.status === 200 ? "broken" : "refused", status: res.status, requestId, stream };
  }
}

/**
 * Starts `concurrency` loops, alternating streamed and plain requests. A loop whose router is down,
 * or whose budget is spent, waits 100 ms before it tries again.
 * @example
 * const load = startLoad({ url, key, model: "chaos-chat", concurrency: 16, maxTokens: 24 });
 * await sleep(5000);
 * await load.stop();
 * console.log(load.outcomes.length);
 */
export function startLoad(options: LoadOptions): Load {
  const outcomes: Outcome[] = [];
  let running = true;
  let sent = 0;
  const loops = Array.from({ length: options.concurrency }, async (_, loop) => {
    while (running) {
      const n = sent++;
      const outcome = await once(options, (n + loop) % 2 === 0, n);
      outcomes.push(outcome);
      // Back off like a client would: from a router that is down, and from a spent budget (429).
      if (outcome.fate === "unreachable" || outcome.fate === "lost" || outcome.status === 429) await new Promise((r) => setTimeout(r, 100));
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
