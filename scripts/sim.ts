/**
 * Serves simulated origins over HTTP: the demo's, or any set described in a JSON file.
 *
 *   npx tsx scripts/sim.ts [--port 8790] [--host 127.0.0.1] [--zero-latency] [--config <file.json>]
 *
 * Without --config it serves the demo origins (`<url>/maas-alpha/v1`, `<url>/maas-beta/v1`,
 * `<url>/pool-local/v1`). With --config it serves the `SimOptions` in the file instead, validated by
 * `SimOptionsSchema` (a bad file is refused with the reason, before anything listens);
 * --zero-latency applies to either. Prints one line with the origins it serves and the base URL.
 * Stops on Ctrl-C.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { demoSimOptions, zeroLatency } from "../src/sim/demo";
import { startSimServer } from "../src/sim/node";
import { nodeProcess } from "../src/sim/node-types";
import { SimOptionsSchema, type SimOptions } from "../src/sim/options";

const USAGE = "usage: sim.ts [--port N] [--host H] [--zero-latency] [--config FILE.json]";

interface CliArgs {
  host: string;
  port: number;
  zeroLatency: boolean;
  /** A JSON file of SimOptions to serve instead of the demo's. */
  config: string | undefined;
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { host: "127.0.0.1", port: 8790, zeroLatency: false, config: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--zero-latency") args.zeroLatency = true;
    else if (flag === "--host") args.host = required(argv[++i], flag);
    else if (flag === "--config") args.config = required(argv[++i], flag);
    else if (flag === "--port") {
      const port = Number(required(argv[++i], flag));
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port needs a port number, got '${argv[i]}'`);
      args.port = port;
    } else throw new Error(`unknown argument '${flag}' (${USAGE})`);
  }
  return args;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined) throw new Error(`${flag} needs a value`);
  return value;
}

/** Reads and validates a SimOptions file; every failure names the file and says what is wrong. */
async function loadSimOptions(path: string): Promise<SimOptions> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read --config file '${path}': ${err instanceof Error ? err.message : String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`--config file '${path}' is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = SimOptionsSchema.safeParse(json);
  if (!parsed.success) throw new Error(`--config file '${path}' is not valid SimOptions:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const proc = nodeProcess();
try {
  const args = parseArgs(proc.argv.slice(2));
  const options = args.config === undefined ? demoSimOptions : await loadSimOptions(args.config);
  const names = Object.keys(options.origins);
  const server = await startSimServer({
    host: args.host,
    port: args.port,
    sim: args.zeroLatency ? zeroLatency(options) : options,
  });
  console.log(
    `sim: serving ${names.length > 0 ? names.join(", ") : "no origins"} at ${server.url}${args.zeroLatency ? " (zero latency)" : ""}`,
  );
  const stop = (): void => {
    void server.close().then(() => proc.exit(0));
  };
  proc.on("SIGINT", stop);
  proc.on("SIGTERM", stop);
} catch (err) {
  // A usage or configuration mistake: the reason, not a stack trace.
  console.error(`sim: ${err instanceof Error ? err.message : String(err)}`);
  proc.exit(1);
}
