/** Helpers for the simulator's tests: build a simulator, call it like a client would, read SSE. */
import { createSimulator, type SimOptions, type SimStats, type Simulator, type SimulatorHooks } from "../../src/sim";

/** A fresh simulator (fresh caches and recorder) for one test. */
export function makeSim(options: SimOptions, hooks?: SimulatorHooks): Simulator {
  return createSimulator(options, hooks);
}

/** A clock stuck at `at`: every request arrives at the same instant, so queue waits are exact. */
export function fixedClock(at = 1_000_000): SimulatorHooks {
  return { now: () => at };
}

/** `GET /_sim/stats`. */
export async function simStats(sim: Simulator): Promise<SimStats["origins"]> {
  const res = await sim.fetch(new Request("http://sim/_sim/stats"));
  if (res.status !== 200) throw new Error(`stats: HTTP ${res.status}`);
  return ((await res.json()) as SimStats).origins;
}

/** `POST /_sim/reset`, returning its JSON body. */
export async function simReset(sim: Simulator): Promise<unknown> {
  const res = await sim.fetch(new Request("http://sim/_sim/reset", { method: "POST" }));
  if (res.status !== 200) throw new Error(`reset: HTTP ${res.status}`);
  return res.json();
}

/** POSTs a JSON body to `/<origin>/v1/<path>`. */
export function post(
  sim: Simulator,
  origin: string,
  path: string,
  body: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return sim.fetch(
    new Request(`http://sim/${origin}/v1/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...init.headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...(init.signal ? { signal: init.signal } : {}),
    }),
  );
}

/** A user message. */
export function user(content: string): { role: string; content: string } {
  return { role: "user", content };
}

/** POSTs a chat completion request. */
export function chat(
  sim: Simulator,
  origin: string,
  body: Record<string, unknown>,
  init?: { headers?: Record<string, string>; signal?: AbortSignal },
): Promise<Response> {
  return post(sim, origin, "chat/completions", body, init);
}

/** The tokenizer rule of src/sim/tokens.ts, restated independently: ceil(utf8 bytes / 4). */
export function tokensOf(rendering: string): number {
  return Math.ceil(new TextEncoder().encode(rendering).byteLength / 4);
}

/** The `data:` payloads of an SSE body, `[DONE]` kept as a string. */
export function sseData(text: string): Array<Record<string, unknown> | "[DONE]"> {
  return text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice("data: ".length))
    .map((d) => (d === "[DONE]" ? "[DONE]" : (JSON.parse(d) as Record<string, unknown>)));
}

/** Reads a body chunk by chunk, decoded. */
export async function readChunks(res: Response): Promise<string[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const out: string[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(decoder.decode(value));
  }
}

/** The shape of a non-stream chat completion, as far as the tests read it. */
export interface Completion {
  id: string;
  object: string;
  model: string;
  choices: Array<{ index: number; message: { role: string; content: string }; finish_reason: string; logprobs: null }>;
  usage?: Record<string, unknown> & { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}
