/**
 * The Node host: serves a simulator over real HTTP with `node:http`, so the Worker under test (or
 * a benchmark) talks to it over sockets. Bodies are relayed chunk by chunk as the simulator
 * produces them; a body that errors destroys the socket, which is how a simulated cut reaches the
 * client as a genuinely broken connection.
 */
import { concatBytes } from "../lib/bytes";
import { createSimulator, type Simulator } from "./handler";
import {
  loadNodeHttp,
  type NodeChunk,
  type NodeIncomingMessage,
  type NodeServerResponse,
} from "./node-types";
import type { SimOptions } from "./options";

/** A running Node host. */
export interface SimServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Base URL, e.g. `http://127.0.0.1:8790`; origins live under `<url>/<origin>/v1`. */
  url: string;
  /** Stops listening and drops every open connection (ending any stalled stream). */
  close(): Promise<void>;
}

/** Options of {@link startSimServer}. */
export interface SimServerOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port to bind; default 0 (an ephemeral port). */
  port?: number;
  sim: SimOptions;
}

/**
 * Starts a simulator behind `node:http`.
 * @example
 * const server = await startSimServer({ sim: { origins: { alpha: {} } } });
 * await fetch(`${server.url}/alpha/v1/models`);
 * await server.close();
 */
export async function startSimServer(opts: SimServerOptions): Promise<SimServer> {
  const host = opts.host ?? "127.0.0.1";
  const simulator = createSimulator(opts.sim);
  const http = await loadNodeHttp();
  const server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    void relay(simulator, host, req, res);
  });
  // Longer than common client pools' idle timeouts, so the client, not us, closes idle sockets.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : (opts.port ?? 0);
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Serves one Node request through the simulator and streams the answer back. */
async function relay(simulator: Simulator, host: string, req: NodeIncomingMessage, res: NodeServerResponse): Promise<void> {
  // Without a listener, an 'error' on a socket the client already dropped would crash the process.
  res.on("error", () => {});
  req.on("error", () => {});
  const clientGone = new AbortController();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let lastWrite: Promise<void> = Promise.resolve();
  let markClosed = (): void => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  res.on("close", () => {
    markClosed();
    if (res.writableFinished) return;
    // The client went away mid-answer: stop waiting, stop generating.
    clientGone.abort();
    reader?.cancel().catch(() => {});
  });

  try {
    const request = await toRequest(req, host, clientGone.signal);
    const response = await simulator.fetch(request);
    if (res.destroyed) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    res.writeHead(response.status, headersOf(response));
    res.flushHeaders();
    if (!response.body) {
      res.end();
      return;
    }
    reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      // Each chunk goes to the socket as it comes (no buffering: noDelay, no cork).
      lastWrite = new Promise((resolve) => res.write(value, () => resolve()));
      if (res.writableNeedDrain) await drained(res);
    }
    res.end();
  } catch {
    // The body stream errored (a simulated cut) or the client vanished: break the connection for
    // real. Destroying discards data not yet handed to the kernel, so let the chunks already
    // produced reach the client first; a cut "after N chunks" must deliver N chunks.
    await Promise.race([lastWrite, closed]);
    res.destroy();
  }
}

function toRequest(req: NodeIncomingMessage, host: string, signal: AbortSignal): Promise<Request> {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  }
  const authority = headers.get("host") ?? host;
  const url = `http://${authority}${req.url ?? "/"}`;
  const method = req.method ?? "GET";
  if (method === "GET" || method === "HEAD") return Promise.resolve(new Request(url, { method, headers, signal }));
  return new Promise((resolve, reject) => {
    const chunks: NodeChunk[] = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("error", reject);
    req.on("end", () => resolve(new Request(url, { method, headers, body: concatBytes(chunks), signal })));
  });
}

function headersOf(response: Response): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** Resolves when the socket can take more, or when it closes (the next write then sees `destroyed`). */
function drained(res: NodeServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
