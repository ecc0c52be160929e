/**
 * Starts the simulated origins in Node before the suite and hands their URL to the tests and to
 * the Worker's config (`inject("simUrl")`). The router reaches them over real loopback TCP, so
 * connection errors, cut streams and timeouts are the real thing.
 */
import type { TestProject } from "vitest/node";
import { startSimServer } from "../../src/sim/node";
import { simOptions } from "./router-config";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const sim = await startSimServer({ host: "127.0.0.1", port: 0, sim: simOptions });
  project.provide("simUrl", sim.url);
  return () => sim.close();
}
