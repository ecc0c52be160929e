/**
 * Fuzzing the whole HTTP surface: every route of the API and the admin API, and paths that are
 * none, with every method, a valid key, junk credentials or none, and odd headers and bodies.
 * Below 500 and OpenAI-shaped always; junk credentials never get a 2xx (only the service root and
 * a browser's CORS preflight answer without one).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { newTenant } from "../support/client";
import { ADMIN_TOKEN } from "../support/router-config";
import { anyBody, apiHeaders, junkAuthorization, pathSegment, queryString } from "./arbitraries";
import { countStatuses, expectHealthy, expectWellFormed, fuzz, send, unlimited, type FuzzRequest } from "./support";

/** Every route's path (src/app.ts, src/routes/*.ts), its parameters filled by `fill`. */
function routes(tenant: string, fill: string): string[] {
  return [
    "/",
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/responses",
    `/v1/responses/${fill}`,
    "/v1/models",
    `/v1/models/${fill}`,
    "/v1/usage",
    "/v1/usage/summary",
    `/v1/usage/${fill}`,
    "/v1/budgets",
    "/v1/files",
    `/v1/files/${fill}`,
    `/v1/files/${fill}/content`,
    "/v1/batches",
    `/v1/batches/${fill}`,
    `/v1/batches/${fill}/cancel`,
    "/admin/tenants",
    `/admin/tenants/${tenant}`,
    `/admin/tenants/${tenant}/limits`,
    `/admin/tenants/${tenant}/keys`,
    `/admin/tenants/${tenant}/keys/${fill}`,
    `/admin/tenants/${tenant}/keys/${fill}/limits`,
    `/admin/tenants/${tenant}/budgets`,
    `/admin/tenants/${tenant}/budgets/${fill}`,
    `/admin/tenants/${tenant}/budgets/${fill}/reset`,
    `/admin/tenants/${tenant}/usage`,
    `/admin/tenants/${tenant}/usage/summary`,
    "/admin/origins",
    `/admin/origins/${fill}/transitions`,
    `/admin/scenarios/${fill}/decisions`,
    `/admin/scenarios/${fill}/affinity`,
    `/admin/scenarios/${fill}/canary-stop`,
  ];
}

/** Paths that are no route, or a route written oddly. */
const ODD_PATHS = ["/v1", "/v1/", "/v2/chat/completions", "//v1/chat/completions", "/v1/chat/completions/", "/V1/CHAT/COMPLETIONS", "/v1/chat%2Fcompletions", "/v1/./models", "/v1/../admin/origins", "/v1/edits", "/admin", "/admin/", "/%00", "/v1/models/", "/favicon.ico", "/.env", "/v1/chat/completions;x=1", "/v1/chat/completions%20"];

type Credential = { kind: "key" } | { kind: "admin" } | { kind: "junk"; header: string } | { kind: "none" };

const credential: fc.Arbitrary<Credential> = fc.oneof(
  fc.constant({ kind: "key" as const }),
  fc.constant({ kind: "admin" as const }),
  fc.constant({ kind: "none" as const }),
  junkAuthorization.map((header) => ({ kind: "junk" as const, header })),
);

let key = "";
/**
 * The tenant the admin routes are fuzzed on: not the key's. An admin DELETE or disable of it is a
 * fair outcome of the fuzz; the key's tenant must stay healthy to the end (`expectHealthy`).
 */
let adminTarget = "";

beforeAll(async () => {
  const tenant = await newTenant();
  key = tenant.key;
  await unlimited(tenant.tenantId);
  adminTarget = (await newTenant()).tenantId;
});

const request = fc.record({
  method: fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
  route: fc.nat(),
  fill: pathSegment,
  odd: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_PATHS) }),
  query: fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: queryString(["limit", "format", "from", "group_by"]) }),
  credential,
  headers: apiHeaders,
  body: anyBody,
});

/** Answers that need no credential: the service root, and a browser's CORS preflight. */
function keyless(req: FuzzRequest): boolean {
  const path = req.path.split("?")[0];
  return path === "/" || (req.method === "OPTIONS" && req.headers.origin !== undefined && path!.startsWith("/v1/"));
}

describe("fuzz: every route, method, credential and path", () => {
  it("answers 250 odd requests below 500, OpenAI-shaped, and never lets junk credentials through", async () => {
    const statuses = countStatuses();
    await fuzz(request, 250, async (r) => {
      const all = routes(adminTarget, r.fill);
      const path = (r.odd ?? all[r.route % all.length]!) + r.query;
      const headers: Record<string, string> = { ...r.headers };
      if (r.credential.kind === "key") headers.authorization = `Bearer ${key}`;
      if (r.credential.kind === "admin") headers.authorization = `Bearer ${ADMIN_TOKEN}`;
      if (r.credential.kind === "junk") headers.authorization = r.credential.header;
      const withBody = r.method !== "GET" && r.method !== "HEAD";
      const req: FuzzRequest = { method: r.method, path, headers, ...(withBody ? { body: r.body } : {}) };
      const checked = await expectWellFormed(await send(req), req);
      statuses.add(checked.status);
      const trusted = (r.credential.kind === "key" && path.startsWith("/v1/")) || (r.credential.kind === "admin" && path.startsWith("/admin"));
      if (!trusted && !keyless(req)) expect(checked.status, `${req.method} ${path} with ${JSON.stringify(r.credential)}`).toBeGreaterThanOrEqual(400);
    });
    expect(statuses.of(401)).toBeGreaterThan(50);
    expect(statuses.of(404)).toBeGreaterThan(20);
    expect(statuses.of(405)).toBeGreaterThan(5);
    await expectHealthy(key);
  });
});
