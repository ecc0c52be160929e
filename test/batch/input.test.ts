/**
 * Batch input files checked at upload (src/batch/input.ts): every rule's 400 names the line and
 * the field, and a file that passes is taken line by line as uploaded.
 */
import { describe, expect, it } from "vitest";
import { parseBatchFile } from "../../src/batch/input";
import { RouterError } from "../../src/openai/errors";
import { chatLine, jsonl, line } from "./support";

const LIMITS = { maxFileBytes: 4096, maxLines: 3, maxLineBytes: 512 };
const encode = (text: string) => new TextEncoder().encode(text);

/** The refusal of a file: its code, param and message. */
function refusal(content: string | Uint8Array, limits = LIMITS): { code: string; param: string | null; message: string } {
  try {
    parseBatchFile(typeof content === "string" ? encode(content) : content, limits);
  } catch (e) {
    if (e instanceof RouterError && e.failure.kind === "invalid_batch_input") return { code: e.failure.code, param: e.failure.param, message: e.failure.message };
    throw e;
  }
  throw new Error("the file was accepted");
}

describe("batch input files", () => {
  it("takes each request with its line number, custom_id, url and model; blank lines and CRLF endings are fine", () => {
    const a = chatLine("a", "chat-pool");
    const b = line("b", { model: "embed-main", input: "hello" }, "/v1/embeddings");
    expect(parseBatchFile(encode(`${a}\r\n\n${b}`), LIMITS)).toEqual([
      { line: 1, customId: "a", url: "/v1/chat/completions", model: "chat-pool", text: a },
      { line: 3, customId: "b", url: "/v1/embeddings", model: "embed-main", text: b },
    ]);
  });

  it("refuses an empty file, and one that is not UTF-8", () => {
    expect(refusal("\n \n")).toEqual({ code: "invalid_file", param: "file", message: "The file holds no requests: a batch input file has one JSON request per line." });
    expect(refusal(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject({ code: "invalid_file", param: "file" });
  });

  it("refuses a file over its size, more requests than the limit, and a line over its size", () => {
    expect(refusal("x".repeat(4097))).toEqual({ code: "file_too_large", param: "file", message: "The file is 4097 bytes; a batch input file may be at most 4096 bytes." });
    expect(refusal(jsonl(["a", "b", "c", "d"].map((id) => chatLine(id, "chat-pool"))))).toEqual({
      code: "too_many_requests",
      param: "file",
      message: "The file has more than 3 requests (lines); split it into several batches.",
    });
    const long = chatLine("long", "chat-pool", { user: "u".repeat(600) });
    expect(refusal(jsonl([chatLine("a", "chat-pool"), long]))).toMatchObject({ code: "invalid_line", message: `Line 2 is ${long.length} bytes; a request may be at most 512 bytes.` });
  });

  it("names the line and the field of a malformed request", () => {
    const ok = chatLine("ok", "chat-pool");
    expect(refusal(jsonl([ok, "{not json"]))).toEqual({ code: "invalid_line", param: null, message: "Line 2 is not valid JSON." });
    expect(refusal(jsonl(["[1,2]"]))).toMatchObject({ code: "invalid_line", message: "Line 1 must be a JSON object with custom_id, method, url and body." });
    expect(refusal(jsonl([JSON.stringify({ method: "POST", url: "/v1/embeddings", body: {} })]))).toMatchObject({ code: "invalid_line", param: "custom_id" });
    expect(refusal(jsonl([JSON.stringify({ custom_id: "a", method: "GET", url: "/v1/embeddings", body: {} })]))).toEqual({ code: "invalid_line", param: "method", message: `Line 1: 'method' must be "POST".` });
    expect(refusal(jsonl([JSON.stringify({ custom_id: "a", method: "POST", url: "/v1/completions", body: {} })]))).toEqual({
      code: "invalid_line",
      param: "url",
      message: "Line 1: 'url' must be one of /v1/chat/completions, /v1/embeddings.",
    });
    expect(refusal(jsonl([JSON.stringify({ custom_id: "a", method: "POST", url: "/v1/embeddings", body: "hi" })]))).toMatchObject({ code: "invalid_line", param: "body" });
  });

  it("takes a body nested as deep as a request's may be (128 levels), and refuses one level more", () => {
    // The body object is level 1 of the request: `n` arrays in its tools make it n + 1 levels deep.
    const nested = (n: number) => `{"custom_id":"d","method":"POST","url":"/v1/chat/completions","body":{"model":"chat-pool","messages":[{"role":"user","content":"hi"}],"tools":${"[".repeat(n)}${"]".repeat(n)}}}`;
    expect(parseBatchFile(encode(nested(127)), LIMITS).map((r) => r.customId)).toEqual(["d"]);
    expect(refusal(nested(128))).toEqual({ code: "invalid_line", param: "body.tools", message: "Line 1: it nests deeper than 128 levels below its body." });
    // Any other field of the line is held to the same depth, and named.
    const other = `{"custom_id":"d","method":"POST","url":"/v1/chat/completions","body":{},"x":${"[".repeat(129)}${"]".repeat(129)}}`;
    expect(refusal(other)).toMatchObject({ code: "invalid_line", param: "x" });
  });

  it("checks each body as its endpoint does, and refuses streaming", () => {
    expect(refusal(jsonl([chatLine("a", "chat-pool"), line("b", { model: "chat-pool", messages: [] })]))).toEqual({
      code: "invalid_line",
      param: "body.messages",
      message: "Line 2 (custom_id 'b'): Invalid value for 'messages': 'messages' must contain at least one message",
    });
    expect(refusal(jsonl([line("e", { model: "embed-main" }, "/v1/embeddings")]))).toMatchObject({ code: "invalid_line", param: "body.input" });
    expect(refusal(jsonl([chatLine("s", "chat-pool", { stream: true })]))).toEqual({
      code: "invalid_line",
      param: "body.stream",
      message: "Line 1 (custom_id 's'): a batch request cannot stream; remove 'stream'.",
    });
  });

  it("refuses a custom_id used twice, naming both lines", () => {
    expect(refusal(jsonl([chatLine("same", "chat-pool"), chatLine("other", "chat-pool"), chatLine("same", "chat-pool")]))).toEqual({
      code: "duplicate_custom_id",
      param: "custom_id",
      message: "Line 3: custom_id 'same' is already used on line 1; each request needs its own.",
    });
  });
});
