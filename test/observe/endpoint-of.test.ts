import { describe, expect, it } from "vitest";
import { endpointOf } from "../../src/observe/metrics";

describe("endpointOf: the endpoint label of a request no scenario served", () => {
  it("names each OpenAI endpoint, the Responses API's reads among them", () => {
    expect(["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/responses/resp_1", "/v1/models/x", "/v1/usage", "/admin/tenants", "/"].map(endpointOf)).toEqual([
      "chat",
      "completions",
      "embeddings",
      "responses",
      "responses",
      "models",
      "v1",
      "admin",
      "other",
    ]);
  });
});
