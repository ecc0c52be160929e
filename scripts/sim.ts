/**
 * Serves the demo's simulated origins over HTTP.
 *
 *   npx tsx scripts/sim.ts [--port 8790] [--host 127.0.0.1] [--zero-latency]
 *
 * Prints one line with the base URL; origins are `<url>/maas-alpha/v1`, `<url>/maas-beta/v1`,
 * `<url>/pool-local/v1`. Stops on Ctrl-C.
 */
import { demoSimOptions, zeroLatency } from "../src/sim/demo";
import { startSimServer } from "../src/sim/node";
import { nodeProcess } from "../src/sim/node-types";

interface CliArgs {
  host: string;
  port: number;
  zeroLatency: boolean;
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { host: "127.0.0.1", port: 8790, zeroLatency: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--zero-latency") args.zeroLatency = true;
    else if (flag === "--host") args.host = required(argv[++i], flag);
    else if (flag === "--port") {
      const port = Number(required(argv[++i], flag));
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port needs a port number, got '${argv[i]}'`);
      args.port = port;
    } else throw new Error(`unknown argument '${flag}' (usage: sim.ts [--port N] [--host H] [--zero-latency])`);
  }
  return args;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined) throw new Error(`${flag} needs a value`);
  return value;
}

const proc = nodeProcess();
const args = parseArgs(proc.argv.slice(2));
const server = await startSimServer({
  host: args.host,
  port: args.port,
  sim: args.zeroLatency ? zeroLatency(demoSimOptions) : demoSimOptions,
});
console.log(
  `sim: serving maas-alpha, maas-beta, pool-local at ${server.url}${args.zeroLatency ? " (zero latency)" : ""}`,
);
const stop = (): void => {
  void server.close().then(() => proc.exit(0));
};
proc.on("SIGINT", stop);
proc.on("SIGTERM", stop);
