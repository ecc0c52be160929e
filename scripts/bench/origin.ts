/**
 * The benchmark's origin in a process of its own: the demo's simulated origins with every
 * delay zeroed, so what is measured is the path in front of them. Its own process keeps its
 * event loop off the load generator's. Prints one JSON line, `{"url": ...}`, once it listens.
 */
import { demoSimOptions, zeroLatency } from "../../src/sim/demo";
import { startSimServer } from "../../src/sim/node";

const server = await startSimServer({ host: "127.0.0.1", port: 0, sim: zeroLatency(demoSimOptions) });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
