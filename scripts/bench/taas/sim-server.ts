/**
 * The benchmark's simulated origins in a process of their own (their event loop off the driver's).
 * Options come as JSON in argv[2], the port in argv[3]; once listening it prints one JSON line,
 * `{"url": ...}`. Options are validated by the simulator's own schema: an older simulator without
 * day profiles refuses them rather than run a different day.
 */
import { startSimServer } from "../../../src/sim/node";
import { SimOptionsSchema } from "../../../src/sim/options";

const options = SimOptionsSchema.parse(JSON.parse(process.argv[2] ?? "{}"));
const server = await startSimServer({ host: "127.0.0.1", port: Number(process.argv[3] ?? 0), sim: options });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
