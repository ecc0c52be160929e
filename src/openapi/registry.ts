/**
 * The router's API as OpenAPI 3.1, generated from the zod schemas that validate it.
 *
 * Each route module declares its operations with {@link documented}, next to the routes and with
 * the very schemas the routes validate with, so the document cannot drift from what is enforced;
 * a test checks that every route the app serves is documented and every documented one is served.
 *
 * Why zod 4's own `z.toJSONSchema` rather than `@hono/zod-openapi`: the routes stay plain Hono
 * (no second routing layer to keep in step, no wrapper type on every handler), OpenAPI 3.1's
 * schema dialect is JSON Schema 2020-12, which is what zod emits, and it adds no dependency.
 */
import { z } from "zod";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/** Who may call an operation. */
export type Auth = "none" | "tenant" | "admin" | "admin-or-read";

export interface Operation {
  method: Method;
  /** OpenAPI's form: `/v1/models/{model}`. */
  path: string;
  summary: string;
  description?: string;
  tag: "OpenAI" | "Tenant" | "Admin: tenants" | "Admin: config" | "Admin: health" | "Operations";
  auth: Auth;
  /** The JSON body's schema, as the route validates it. */
  body?: z.ZodType;
  /** A `multipart/form-data` body's fields (an upload), as the route reads them. */
  form?: z.ZodObject;
  /** The query's schema (an object), as the route validates it. */
  query?: z.ZodObject;
  /** Success responses by status, with a description; a schema where the answer has one. */
  responses: Record<number, { description: string; schema?: z.ZodType; stream?: boolean; text?: string }>;
}

const operations: Operation[] = [];

/** Declares an operation (at module load, beside the route). */
export function documented(...ops: Operation[]): void {
  operations.push(...ops);
}

/** Every operation declared so far (all of them once the app's modules are loaded). */
export function documentedOperations(): readonly Operation[] {
  return operations;
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

const ERROR_RESPONSE = { $ref: "#/components/responses/Error" };

const SECURITY: Record<Auth, Array<Record<string, string[]>>> = {
  none: [],
  tenant: [{ tenantKey: [] }],
  admin: [{ adminToken: [] }],
  "admin-or-read": [{ adminToken: [] }, { adminReadToken: [] }],
};

function operationObject(op: Operation): Record<string, unknown> {
  const parameters: unknown[] = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
  if (op.query) {
    const shape = jsonSchema(op.query) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(shape.properties ?? {})) {
      parameters.push({ name, in: "query", required: shape.required?.includes(name) ?? false, schema });
    }
  }
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(op.responses)) {
    const content: Record<string, unknown> = {};
    if (r.text) content[r.text] = { schema: { type: "string" } };
    else content["application/json"] = r.schema ? { schema: jsonSchema(r.schema) } : {};
    if (r.stream) content["text/event-stream"] = { schema: { type: "string", description: "Server-sent events, `data: <JSON>` per event, ending with `data: [DONE]`." } };
    responses[status] = { description: r.description, content };
  }
  responses.default = ERROR_RESPONSE;
  return {
    operationId: `${op.method}${op.path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    security: SECURITY[op.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(op.body) } } } } : {}),
    ...(op.form ? { requestBody: { required: true, content: { "multipart/form-data": { schema: jsonSchema(op.form) } } } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the operations given. */
export function openApiDocument(ops: readonly Operation[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of [...ops].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))) {
    (paths[op.path] ??= {})[op.method] = operationObject(op);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Token Router",
      version: info.version,
      description:
        "An OpenAI-compatible LLM router. `/v1` is OpenAI's API (chat completions, the Responses API, legacy completions, embeddings, models) plus the tenant's own usage and budgets; `/admin` manages tenants, keys, budgets and the live routing config.",
    },
    paths,
    components: {
      securitySchemes: {
        tenantKey: { type: "http", scheme: "bearer", description: "A tenant's API key (`tr-<tenant>-…`)." },
        adminToken: { type: "http", scheme: "bearer", description: "The `ADMIN_TOKEN` secret: every admin route." },
        adminReadToken: { type: "http", scheme: "bearer", description: "The optional `ADMIN_READ_TOKEN` secret: admin GETs and /metrics only." },
      },
      responses: {
        Error: {
          description: "An error in OpenAI's shape.",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["message", "type", "param", "code"],
              properties: {
                message: { type: "string" },
                type: { type: "string" },
                param: { type: ["string", "null"] },
                code: { type: ["string", "null"] },
                problems: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
              },
            },
          },
        },
      },
    },
  };
}
