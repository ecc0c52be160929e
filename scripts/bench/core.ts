/**
 * `npm run bench:core`: the cost of the router's pure per-request work as prompts grow. Times one
 * function over chat requests of 1k, 8k and 32k tokens and prints ns per call and per token;
 * a flat ns/token column means the cost is linear in the prompt, as DESIGN §5 requires.
 *
 *   npm run bench:core -- [--time 1]     # seconds of measurement per size
 *
 * Three subjects: prefix fingerprints alone (render, chain-hash 64-token blocks, checkpoints,
 * anchor); the router's per-request core (the prompt's token upper bound for the reservation, the
 * fingerprint, then `decide()` with prefix affinity over the demo config's `chat-default`); and,
 * for comparison, the simulator's own 16-token block hashing (what a vLLM origin does per request).
 */
import { parseArgs } from "node:util";
import demoConfig from "../../src/config/demo.json";
import { fingerprint } from "../../src/affinity/fingerprint";
import { routerConfigSchema } from "../../src/config/schema";
import { estimatePromptTokensUpperBound } from "../../src/pricing/estimate";
import { decide } from "../../src/routing/decide";
import { mulberry32 } from "../../src/sim/hash";
import { blockHashes } from "../../src/sim/prefix-cache";
import { countTokens, renderChatPrompt, utf8 } from "../../src/sim/tokens";

/** A chat request as the router sees it after validation. */
interface ChatRequest {
  model: string;
  messages: { role: "system" | "user" | "assistant"; content: string }[];
  max_tokens: number;
}

interface Subject {
  name: string;
  /** Returns something derived from the work, so the optimizer cannot drop it. */
  run(request: ChatRequest): number;
}

const config = routerConfigSchema.parse(demoConfig);
const view = { name: "chat-default", scenario: config.scenarios["chat-default"]!, origins: config.origins, canaryStopped: false };
const NOW = Date.UTC(2026, 10, 23, 12);

/** The functions under test. */
const SUBJECTS: Subject[] = [
  { name: "prefix fingerprints: render + 64-token block chain hash + checkpoints + anchor", run: (r) => fingerprint(r).blocks.length },
  {
    name: "routing core: prompt token upper bound + fingerprint + decide() with affinity",
    run: (r) => {
      const promptTokens = estimatePromptTokensUpperBound(r);
      const fp = fingerprint(r);
      const d = decide(
        {
          priority: "standard",
          promptTokens,
          outputTokens: r.max_tokens,
          boundaries: [],
          budgetPressure: 0,
          softLimited: false,
          random: () => 0.5,
          affinity: { cachedTokens: { "pool-local": fp.blocks.length * 64 }, promptTokens: fp.promptTokens, anchor: fp.conversation, sessionKey: null, rotation: 0 },
        },
        view,
        () => null,
        NOW,
      );
      return d.attempts.length + promptTokens;
    },
  },
  { name: "for comparison, the simulator's per-request hashing (render + 16-token blocks, hex names)", run: (r) => blockHashes(utf8(renderChatPrompt(r)), 16).length },
];

const SIZES = [1024, 8192, 32768] as const;

const WORDS = ("the router keeps a bounded index of prefix fingerprints per tenant and sends each request " +
  "to the origin most likely to hold its prefix while its load stays within a fair share budget windows " +
  "price latency variance cache hit rate fallback stream token origin pool").split(" ");

/** A conversation of about `tokens` tokens: a system prompt, then user/assistant turns of ~400 tokens. */
function conversation(tokens: number): ChatRequest {
  const next = mulberry32(tokens);
  const text = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]).join(" ");
  const request: ChatRequest = {
    model: "chat-default",
    max_tokens: 256,
    messages: [{ role: "system", content: "You are a careful assistant. Answer from the documents given." }],
  };
  // Words average ~6.5 bytes with their space: ~1.6 tokens each at the simulator's 4 bytes a token.
  while (countTokens(renderChatPrompt(request)) < tokens) {
    const role = request.messages.length % 2 === 1 ? "user" : "assistant";
    const missing = tokens - countTokens(renderChatPrompt(request));
    request.messages.push({ role, content: text(Math.max(1, Math.min(250, Math.ceil(missing / 1.6)))) });
  }
  return request;
}

let sink = 0;

/** Mean ns per call over batches of at least 50 ms, for `seconds`; the median batch is reported. */
function time(subject: Subject, request: ChatRequest, seconds: number): number {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) sink += subject.run(request);
  const batches: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || batches.length < 5) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    while (now - start < 50) {
      sink += subject.run(request);
      calls++;
      now = performance.now();
    }
    batches.push(((now - start) * 1e6) / calls);
  }
  batches.sort((a, b) => a - b);
  return batches[Math.floor(batches.length / 2)]!;
}

function main(): void {
  const { values } = parseArgs({ options: { time: { type: "string", default: "1" } } });
  const seconds = Number(values.time);
  if (!(seconds > 0)) throw new Error("--time must be > 0");
  for (const subject of SUBJECTS) {
    console.log(`\n${subject.name}\n`);
    console.log("prompt tokens |     ns/call |  ns/token | ns/token vs 1k");
    console.log("-------------:|------------:|----------:|--------------:");
    let base: number | undefined;
    for (const size of SIZES) {
      const request = conversation(size);
      const tokens = countTokens(renderChatPrompt(request));
      const ns = time(subject, request, seconds);
      const perToken = ns / tokens;
      base ??= perToken;
      console.log(
        `${String(tokens).padStart(13)} | ${ns.toFixed(0).padStart(11)} | ${perToken.toFixed(2).padStart(9)} | ${(perToken / base).toFixed(2).padStart(13)}×`,
      );
    }
  }
  if (sink === -1) console.log(sink);
}

main();
