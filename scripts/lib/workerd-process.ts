/**
 * Running `workerd serve` on a config file: the binary wrangler itself uses, the port each
 * socket got (from workerd's control fd, so port 0 works without a race), and a stop that
 * waits for the process to be gone.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/** The `workerd` npm package as wrangler resolves it: the binary's path and the newest compatibility date it knows. */
export interface WorkerdBinary {
  path: string;
  version: string;
  compatibilityDate: string;
}

/** Finds the `workerd` package that wrangler depends on (the one `wrangler dev` runs). */
export function workerdBinary(): WorkerdBinary {
  const fromProject = createRequire(import.meta.url);
  const fromWrangler = createRequire(fromProject.resolve("wrangler/package.json"));
  // The package has no type declarations: its main module exports the binary's path as default.
  const pkg = fromWrangler("workerd") as { default: string; version: string; compatibilityDate: string };
  return { path: pkg.default, version: pkg.version, compatibilityDate: pkg.compatibilityDate };
}

export interface StartWorkerdOptions {
  /** A config file in Cap'n Proto text with a constant named `config`. */
  configPath: string;
  /** The socket to wait for and report the URL of. */
  socket: string;
  /** Host part of the returned URL (the socket's address without its port). Default 127.0.0.1. */
  host?: string;
  /** Extra environment for the process (values of `fromEnvironment` bindings). */
  env?: Record<string, string>;
  /** `host:port` for the V8 inspector (Chrome DevTools' CPU profiler). */
  inspectorAddr?: string;
  /**
   * Keep workerd's output (shown only if it fails to start) instead of inheriting stdio. It goes to
   * a file, not a pipe: under load a router logs a line per request, and a pipe would make this
   * process (often the load generator itself) read every one of them.
   */
  quiet?: boolean;
  /** Default 30 s. */
  startTimeoutMs?: number;
}

export interface WorkerdProcess {
  /** e.g. `http://127.0.0.1:8787` */
  url: string;
  port: number;
  pid: number;
  /** Resolves with the exit code when the process ends, on its own or by `stop()`. */
  exited: Promise<number | null>;
  /** What it printed, when `quiet` (its last 64 KB). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

interface ListenEvent {
  event: "listen";
  socket: string;
  port: number;
}

function isListenEvent(value: unknown): value is ListenEvent {
  const v = value as Partial<ListenEvent> | null;
  return typeof v === "object" && v !== null && v.event === "listen" && typeof v.socket === "string" && typeof v.port === "number";
}

/**
 * Starts `workerd serve` and resolves once `options.socket` listens.
 * @example
 * const w = await startWorkerd({ configPath: "/tmp/x/config.capnp", socket: "http", quiet: true });
 * await fetch(w.url);
 * await w.stop();
 */
export async function startWorkerd(options: StartWorkerdOptions): Promise<WorkerdProcess> {
  const binary = workerdBinary();
  const args = ["serve", options.configPath, "config", "--control-fd=3"];
  if (options.inspectorAddr) args.push(`--inspector-addr=${options.inspectorAddr}`);
  const log = options.quiet ? quietLog() : null;
  const child = (() => {
    try {
      return spawn(binary.path, args, {
        stdio: [options.quiet ? "ignore" : "inherit", log?.fd ?? "inherit", log?.fd ?? "inherit", "pipe"],
        env: { ...process.env, ...options.env },
        // Its own process group: a terminal's Ctrl-C reaches only us, and we stop it in order.
        detached: true,
      });
    } catch (e) {
      log?.remove();
      throw e;
    } finally {
      log?.closeOurs();
    }
  })();
  // A spawn that fails later (no such binary) says so as an event; unheard, it would end this process.
  child.once("error", (e) => console.error(`workerd: ${e.message}`));
  if (child.pid === undefined) {
    log?.remove();
    throw new Error(`could not start ${binary.path}`);
  }
  const pid = child.pid;
  const output = () => log?.read() ?? "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null))));
  let gone = false;
  void exited.then(() => {
    gone = true;
    log?.remove();
  });
  // Never leave a workerd behind when this process exits without calling stop().
  const killOnExit = () => {
    if (!gone) child.kill("SIGKILL");
    log?.remove();
  };
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (gone) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  const control = createInterface({ input: child.stdio[3] as Readable });
  const port = await new Promise<number>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => reject(new Error(`workerd did not listen on socket "${options.socket}" within ${timeoutMs / 1000} s`)), timeoutMs);
    control.on("line", (line) => {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (isListenEvent(message) && message.socket === options.socket) {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`workerd exited (code ${code}) before listening${options.quiet ? `:\n${output()}` : " (see its output above)"}`));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });

  const host = options.host ?? "127.0.0.1";
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return { url: `http://${urlHost}:${port}`, port, pid, exited, output, stop };
}

/** How much of a quiet workerd's output is kept for `output()`: its end. */
const KEPT_OUTPUT_BYTES = 65_536;

/** What a quiet workerd's output goes to: a file of its own, kept only while the process runs. */
function quietLog() {
  const dir = mkdtempSync(join(tmpdir(), "workerd-log-"));
  const path = join(dir, "output.log");
  const fd = openSync(path, "w");
  let last = "";
  let removed = false;
  /** The file's last bytes (a benchmark's log may run to hundreds of megabytes: only its end is read). */
  const read = (): string => {
    if (removed) return last;
    try {
      const size = statSync(path).size;
      const length = Math.min(size, KEPT_OUTPUT_BYTES);
      const bytes = Buffer.alloc(length);
      const file = openSync(path, "r");
      try {
        readSync(file, bytes, 0, length, size - length);
      } finally {
        closeSync(file);
      }
      last = bytes.toString("utf8");
    } catch {
      // Removed meanwhile: what was read last stands.
    }
    return last;
  };
  return {
    fd,
    /** The child holds its own copy of the descriptor once spawned. */
    closeOurs: () => closeSync(fd),
    read,
    /** Keeps the end for `read`, then deletes the file. */
    remove: () => {
      if (removed) return;
      read();
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
