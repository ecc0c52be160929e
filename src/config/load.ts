/**
 * Turning config text into a validated `RouterConfig`. The isolate keeps the parsed config
 * (`isolate.ts`); the Worker makes its isolate at module load (see `index.ts`), so a bad config
 * stops `wrangler dev`, `wrangler deploy` and `workerd serve` at start with a message naming the
 * field, and requests only ever see a config that passed.
 */
import type { z } from "zod";
import { formatPath } from "../lib/zod-path";
import demoConfig from "./demo.json";
import { routerConfigSchema, type RouterConfig } from "./schema";

/** A config that failed validation; `message` names every offending field. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid router config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${formatPath(issue.path) || "(root)"}: ${issue.message}`);
}

/**
 * Validates a config given as parsed JSON or as JSON text.
 *
 * @example
 * parseRouterConfig('{"version":1,"origins":{},"scenarios":{}}'); // throws ConfigError "origins: declare at least one origin"
 */
export function parseRouterConfig(input: unknown): RouterConfig {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new ConfigError([`(root): not valid JSON (${(e as Error).message})`]);
    }
  }
  const result = routerConfigSchema.safeParse(value);
  if (!result.success) throw new ConfigError(problemsOf(result.error));
  return result.data;
}

/** The config the Worker runs on: `ROUTER_CONFIG` (JSON text) when set, else the bundled demo config. */
export function activeConfigSource(env: { ROUTER_CONFIG?: string }): string | typeof demoConfig {
  return env.ROUTER_CONFIG || demoConfig;
}
