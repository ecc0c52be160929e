/**
 * Makes sure the console's browser tests have a browser: Debian's `chromium` package at
 * /usr/bin/chromium (or the one `CHROMIUM_PATH` names). When it is missing it is installed with
 * apt-get, as root or through `sudo -n`, so a fresh machine's `npm install && npm test` (and CI's
 * `.ci/run`) pass. Playwright's own browser downloads are not used: only Debian's package
 * registry is reachable here, and on-prem machines have the same constraint.
 *
 *   npx tsx scripts/console/ensure-browser.ts     prints the browser's path, installing it first if needed
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** Flags for headless Chromium on a machine with no display, GPU or network beyond loopback. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return result.status === 0;
}

/** The path of a usable Chromium; installs Debian's package first when it is missing. Throws when it cannot. */
export function ensureChromium(): string {
  const path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  if (existsSync(path)) return path;
  if (process.env.CHROMIUM_PATH) throw new Error(`CHROMIUM_PATH names ${path}, which does not exist`);
  if (process.platform !== "linux" || !existsSync("/usr/bin/apt-get")) {
    throw new Error(`no Chromium at ${path}, and no apt-get to install Debian's: install Chromium and set CHROMIUM_PATH`);
  }
  const root = process.getuid?.() === 0;
  const apt = (args: string[]) => (root ? run("apt-get", args) : run("sudo", ["-n", "apt-get", ...args]));
  console.log(`console: installing Debian's chromium (for the browser tests) with apt-get${root ? "" : " through sudo"}`);
  // The package lists may be missing on a fresh machine: update them when the first try fails.
  if (!apt(["install", "-y", "chromium"]) && !(apt(["update"]) && apt(["install", "-y", "chromium"]))) {
    throw new Error("apt-get could not install chromium; install it by hand (apt-get install chromium) or set CHROMIUM_PATH");
  }
  if (!existsSync(path)) throw new Error(`chromium was installed, but ${path} is not there`);
  return path;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    console.log(`console: browser at ${ensureChromium()}`);
  } catch (e) {
    console.error(`console: ${(e as Error).message}`);
    process.exit(1);
  }
}
