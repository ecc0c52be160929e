import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { ADMIN_READ_TOKEN, ADMIN_TOKEN, ALPHA_API_KEY, DEMO_TENANT_KEY, testRouterConfig } from "./test/support/router-config";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ROUTER_CONFIG: JSON.stringify(testRouterConfig(inject("simUrl"))),
          ADMIN_TOKEN,
          ADMIN_READ_TOKEN,
          ALPHA_API_KEY,
          DEMO_TENANT_KEY,
          ALLOW_LOOPBACK_ORIGINS: "1",
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/support/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    // Generous: CI has 2 cores, and a few tests (concurrency bursts, property runs) do real work.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Every request's structured log line (src/observe/request-log.ts): the tests that check it
    // capture it themselves; in the suite's output it would drown everything else.
    onConsoleLog: (log) => !log.startsWith('{"type":"request"'),
  },
});
