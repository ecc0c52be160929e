/**
 * The slice of Node's API the Node host and its scripts use, typed structurally.
 *
 * Why: the project typechecks against the Workers runtime types only (there is no @types/node in
 * the tree), so `node:http` has no declarations. These interfaces describe exactly what we call;
 * should @types/node arrive, they can be replaced by its types without other changes.
 */

/** A chunk as Node delivers it (a Buffer, which is a Uint8Array). */
export type NodeChunk = Uint8Array;

/** `http.IncomingMessage`, as far as we use it. */
export interface NodeIncomingMessage {
  method?: string | undefined;
  url?: string | undefined;
  /** Alternating names and values, exactly as received. */
  rawHeaders: string[];
  headers: Record<string, string | string[] | undefined>;
  on(event: "data", listener: (chunk: NodeChunk) => void): this;
  on(event: "end", listener: () => void): this;
  on(event: "error", listener: (err: Error) => void): this;
}

/** `http.ServerResponse`, as far as we use it. */
export interface NodeServerResponse {
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  readonly writableNeedDrain: boolean;
  writeHead(statusCode: number, headers: Record<string, string | string[]>): this;
  flushHeaders(): void;
  write(chunk: NodeChunk, callback?: (err?: Error | null) => void): boolean;
  end(): this;
  destroy(error?: Error): this;
  on(event: "close" | "drain", listener: () => void): this;
  on(event: "error", listener: (err: Error) => void): this;
  off(event: "close" | "drain", listener: () => void): this;
}

/** `http.Server`, as far as we use it. */
export interface NodeServer {
  keepAliveTimeout: number;
  listen(port: number, host: string, callback: () => void): this;
  once(event: "error", listener: (err: Error) => void): this;
  address(): { port: number; address: string } | string | null;
  close(callback: (err?: Error) => void): this;
  closeAllConnections(): void;
}

/** The `node:http` module, as far as we use it. */
export interface NodeHttpModule {
  createServer(
    options: { keepAlive?: boolean; noDelay?: boolean },
    handler: (req: NodeIncomingMessage, res: NodeServerResponse) => void,
  ): NodeServer;
}

/** `process`, as far as the scripts use it. */
export interface NodeProcess {
  argv: string[];
  exitCode?: number | string | undefined;
  on(event: "SIGINT" | "SIGTERM", listener: () => void): void;
  exit(code?: number): never;
}

/** The running Node process (only meaningful under Node). */
export function nodeProcess(): NodeProcess {
  return (globalThis as unknown as { process: NodeProcess }).process;
}

/**
 * Loads `node:http`. The specifier is a variable so the compiler does not look for declarations
 * (see this file's header); the result is typed by the structural interface above.
 */
export async function loadNodeHttp(): Promise<NodeHttpModule> {
  const specifier = "node:http";
  return (await import(specifier)) as NodeHttpModule;
}
