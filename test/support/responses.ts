/** What the Responses API tests share: the SDK pointed at the router, the simulator's answers, the events of a stream. */
import { SELF } from "cloudflare:test";
import OpenAI from "openai";
import { generateCompletion, promptSeed, renderChatPrompt } from "../../src/sim";

/** The official SDK, pointed at the router. */
export function sdk(key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: "http://router.test/v1", maxRetries: 0, fetch: (input, init) => SELF.fetch(new Request(input, init)) });
}

/** What the simulator writes for a chat prompt: its seeded words (a native origin writes the same). */
export const simText = (prompt: Parameters<typeof renderChatPrompt>[0]) => generateCompletion(promptSeed(new TextEncoder().encode(renderChatPrompt(prompt)))).tokens.join("");
/** The simulator's token count of a text. */
export const tokens = (text: string) => Math.ceil(new TextEncoder().encode(text).byteLength / 4);
/** The id of the response a request made. */
export const responseIdOf = (res: Response) => `resp_${res.headers.get("x-request-id")!.slice(4)}`;

/** The event types of a streamed text answer of `deltas` pieces. */
export function textStreamTypes(deltas: number): string[] {
  return [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    ...Array<string>(deltas).fill("response.output_text.delta"),
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ];
}

/**
 * Reads an SDK stream to its end: its event types, its text and its `response.completed`
 * (`onCompleted` runs the moment that event arrives).
 */
export async function readStream(stream: AsyncIterable<OpenAI.Responses.ResponseStreamEvent>, onCompleted: (response: OpenAI.Responses.Response) => Promise<void> = async () => {}) {
  const types: string[] = [];
  let completed: OpenAI.Responses.Response | undefined;
  let text = "";
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.type === "response.completed") {
      completed = event.response;
      await onCompleted(event.response);
    }
  }
  return { types, text, completed };
}

/** An event of a Responses stream, as far as the tests read it. */
export interface StreamedEvent {
  type: string;
  delta?: string;
  code?: string;
  response?: { id: string; status: string; output: unknown[]; usage?: Record<string, unknown> };
}

/** The events of a Responses stream's body. */
export function eventsOf(text: string): StreamedEvent[] {
  return text
    .split("\n\n")
    .filter((e) => e.startsWith("event: "))
    .map((e) => JSON.parse(e.slice(e.indexOf("data: ") + 6)) as StreamedEvent);
}
