/**
 * The simulated origins of the affinity benchmark in a process of their own (its event loop off
 * the load generator's). The options come as JSON in argv[2]. Options a simulator of an older
 * source tree does not know (`prefillSlots`) are dropped, and named in the one JSON line it prints
 * once it listens: `{"url": ..., "dropped": [...]}`.
 */
import { SimOptionsSchema, type SimOptions } from "../../../src/sim/options";
import { startSimServer } from "../../../src/sim/node";

/** Newer per-origin options that can be left out, the run then says what it lacks. */
const OPTIONAL_KEYS = ["prefillSlots"];

const options = JSON.parse(process.argv[2] ?? "{}") as { origins: Record<string, Record<string, unknown>>; recordLimit?: number };
const dropped = new Set<string>();
const parsed = SimOptionsSchema.safeParse(options);
if (!parsed.success) {
  for (const issue of parsed.error.issues) {
    if (issue.code === "unrecognized_keys") for (const key of issue.keys) if (OPTIONAL_KEYS.includes(key)) dropped.add(key);
  }
  for (const origin of Object.values(options.origins)) for (const key of dropped) delete origin[key];
}
const server = await startSimServer({ host: "127.0.0.1", port: Number(process.argv[3] ?? 0), sim: options as SimOptions });
process.stdout.write(`${JSON.stringify({ url: server.url, dropped: [...dropped] })}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
