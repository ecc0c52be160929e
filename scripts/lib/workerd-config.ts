/**
 * A workerd config as typed data, and its rendering as Cap'n Proto text (`.capnp`).
 *
 * Only the part of workerd's schema we use is modelled: Workers made of module files, text /
 * JSON / environment / Durable Object bindings, Durable Object namespaces with local-disk
 * storage, network and disk services, and HTTP sockets. The schema these names follow is
 * `src/workerd/server/workerd.capnp` in cloudflare/workerd; the field comments there are the
 * reference for what each one does.
 */
import { relative } from "node:path";

/** A module of a Worker, read from a file. The first module of a Worker is its main module. */
export interface WorkerdModule {
  /** The name it is imported by, e.g. `index.js`. */
  name: string;
  type: "esModule" | "commonJsModule" | "text" | "data" | "wasm" | "json";
  /** Absolute path of the file; the config embeds it by a path relative to the config itself. */
  path: string;
}

/** A binding: what shows up on the Worker's `env`. */
export type WorkerdBinding =
  | { kind: "text"; name: string; value: string }
  | { kind: "json"; name: string; value: string }
  /**
   * The value of an environment variable of the workerd process, read when it starts. Keeps
   * secrets out of the config file; an unset variable gives `null`, so bind only what is set.
   */
  | { kind: "fromEnvironment"; name: string; variable: string }
  /** A Durable Object namespace implemented by a class of this same Worker. */
  | { kind: "durableObjectNamespace"; name: string; className: string }
  | { kind: "service"; name: string; service: string };

export interface WorkerdDurableObjectNamespace {
  className: string;
  /**
   * Stable and unique: object ids are derived from it and, with local-disk storage, it names the
   * objects' directory. Changing it orphans the stored objects.
   */
  uniqueKey: string;
  /** Exposes `ctx.storage.sql`: what wrangler's `new_sqlite_classes` migrations declare. */
  enableSql: boolean;
}

export interface WorkerdWorker {
  modules: WorkerdModule[];
  compatibilityDate: string;
  compatibilityFlags?: string[];
  bindings?: WorkerdBinding[];
  durableObjectNamespaces?: WorkerdDurableObjectNamespace[];
  /** Where the objects live: in memory (gone at exit) or in a `disk` service's directory. */
  durableObjectStorage?: { kind: "inMemory" } | { kind: "localDisk"; service: string };
  /** The service behind the global `fetch()`; workerd's default is "internet" (public addresses only). */
  globalOutbound?: string;
}

export type WorkerdService =
  | { kind: "worker"; name: string; worker: WorkerdWorker }
  /**
   * Outbound network. `allow` takes CIDRs or workerd's names: "public", "private" (RFC 1918 and
   * the like, a superset of "local"), "local" (loopback), "network", "unix".
   */
  | { kind: "network"; name: string; allow: string[]; deny?: string[]; trustBrowserCas?: boolean }
  | { kind: "disk"; name: string; path: string; writable: boolean };

/** An HTTP listener. */
export interface WorkerdSocket {
  name: string;
  /** `host:port`; port 0 picks a free one (read it from the control fd, see `startWorkerd`). */
  address: string;
  service: string;
}

export interface WorkerdConfig {
  services: WorkerdService[];
  sockets: WorkerdSocket[];
}

/**
 * A Cap'n Proto text literal. Cap'n Proto takes C escapes (`\\`, `\"`, `\n`, `\xNN`), not JSON's
 * `\uXXXX`; text is UTF-8, so characters past ASCII go through as they are.
 */
export function capnpString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Every reference in the config that names nothing, or names the wrong kind of thing. */
export function configProblems(config: WorkerdConfig): string[] {
  const problems: string[] = [];
  const byName = new Map<string, WorkerdService>();
  for (const service of config.services) {
    if (byName.has(service.name)) problems.push(`service "${service.name}" is defined twice`);
    byName.set(service.name, service);
  }
  for (const socket of config.sockets) {
    if (!byName.has(socket.service)) problems.push(`socket "${socket.name}": no service "${socket.service}"`);
  }
  for (const service of config.services) {
    if (service.kind !== "worker") continue;
    const { worker, name } = service;
    if (worker.modules.length === 0) problems.push(`worker "${name}": no modules`);
    if (worker.globalOutbound !== undefined && byName.get(worker.globalOutbound)?.kind !== "network") {
      problems.push(`worker "${name}": globalOutbound "${worker.globalOutbound}" is not a network service`);
    }
    const storage = worker.durableObjectStorage;
    if (storage?.kind === "localDisk" && byName.get(storage.service)?.kind !== "disk") {
      problems.push(`worker "${name}": durable object storage "${storage.service}" is not a disk service`);
    }
    const classes = new Set((worker.durableObjectNamespaces ?? []).map((ns) => ns.className));
    if (classes.size > 0 && storage === undefined) problems.push(`worker "${name}": durable objects need a durableObjectStorage`);
    for (const binding of worker.bindings ?? []) {
      if (binding.kind === "durableObjectNamespace" && !classes.has(binding.className)) {
        problems.push(`worker "${name}": binding ${binding.name} names undeclared class ${binding.className}`);
      }
      if (binding.kind === "service" && !byName.has(binding.service)) {
        problems.push(`worker "${name}": binding ${binding.name} names no service "${binding.service}"`);
      }
    }
  }
  return problems;
}

function renderBinding(binding: WorkerdBinding): string {
  const name = `name = ${capnpString(binding.name)}`;
  switch (binding.kind) {
    case "text":
      return `(${name}, text = ${capnpString(binding.value)})`;
    case "json":
      return `(${name}, json = ${capnpString(binding.value)})`;
    case "fromEnvironment":
      return `(${name}, fromEnvironment = ${capnpString(binding.variable)})`;
    case "durableObjectNamespace":
      return `(${name}, durableObjectNamespace = (className = ${capnpString(binding.className)}))`;
    case "service":
      return `(${name}, service = ${capnpString(binding.service)})`;
  }
}

/** A list literal, one item a line; items spanning lines keep their own relative indentation. */
function list(items: string[]): string {
  if (items.length === 0) return "[]";
  return `[\n${items.map((item) => `${indent(item)},`).join("\n")}\n]`;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

function renderWorker(worker: WorkerdWorker, configDir: string): string {
  const fields: string[] = [];
  const modules = worker.modules.map((m) => {
    // `embed` paths are relative to the config file; a leading '/' would mean the import path.
    const path = relative(configDir, m.path).split("\\").join("/");
    return `(name = ${capnpString(m.name)}, ${m.type} = embed ${capnpString(path)})`;
  });
  fields.push(`modules = ${list(modules)}`);
  fields.push(`compatibilityDate = ${capnpString(worker.compatibilityDate)}`);
  if (worker.compatibilityFlags?.length) {
    fields.push(`compatibilityFlags = [${worker.compatibilityFlags.map(capnpString).join(", ")}]`);
  }
  if (worker.bindings?.length) fields.push(`bindings = ${list(worker.bindings.map(renderBinding))}`);
  if (worker.durableObjectNamespaces?.length) {
    const namespaces = worker.durableObjectNamespaces.map(
      (ns) => `(className = ${capnpString(ns.className)}, uniqueKey = ${capnpString(ns.uniqueKey)}, enableSql = ${ns.enableSql})`,
    );
    fields.push(`durableObjectNamespaces = ${list(namespaces)}`);
  }
  const storage = worker.durableObjectStorage;
  if (storage?.kind === "inMemory") fields.push("durableObjectStorage = (inMemory = void)");
  if (storage?.kind === "localDisk") fields.push(`durableObjectStorage = (localDisk = ${capnpString(storage.service)})`);
  if (worker.globalOutbound !== undefined) fields.push(`globalOutbound = ${capnpString(worker.globalOutbound)}`);
  return `(\n${fields.map((f) => `${indent(f)},`).join("\n")}\n)`;
}

function renderService(service: WorkerdService, configDir: string): string {
  const name = `name = ${capnpString(service.name)}`;
  switch (service.kind) {
    case "worker":
      return `(${name}, worker = ${renderWorker(service.worker, configDir)})`;
    case "network": {
      const deny = service.deny?.length ? `, deny = [${service.deny.map(capnpString).join(", ")}]` : "";
      // Without CAs to trust, https:// origins would fail; workerd's implicit "internet" trusts browsers' CAs too.
      const tls = service.trustBrowserCas ? ", tlsOptions = (trustBrowserCas = true)" : "";
      return `(${name}, network = (allow = [${service.allow.map(capnpString).join(", ")}]${deny}${tls}))`;
    }
    case "disk":
      return `(${name}, disk = (path = ${capnpString(service.path)}, writable = ${service.writable}))`;
  }
}

/**
 * Renders a config as Cap'n Proto text for `workerd serve <file> config`. Module files are
 * embedded relative to `configDir`, the directory the text will be written to.
 * @example
 * const text = renderWorkerdConfig({
 *   services: [{ kind: "worker", name: "main", worker: { modules: [{ name: "w.js", type: "esModule", path: "/srv/w.js" }], compatibilityDate: "2026-04-26" } }],
 *   sockets: [{ name: "http", address: "127.0.0.1:8787", service: "main" }],
 * }, "/srv");
 */
export function renderWorkerdConfig(config: WorkerdConfig, configDir: string): string {
  const problems = configProblems(config);
  if (problems.length > 0) throw new Error(`invalid workerd config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const services = config.services.map((s) => renderService(s, configDir));
  const sockets = config.sockets.map(
    (s) => `(name = ${capnpString(s.name)}, address = ${capnpString(s.address)}, http = (), service = ${capnpString(s.service)})`,
  );
  return [
    "# Generated; do not edit. Schema: src/workerd/server/workerd.capnp in cloudflare/workerd.",
    'using Workerd = import "/workerd/workerd.capnp";',
    "",
    "const config :Workerd.Config = (",
    indent(`services = ${list(services)},`),
    indent(`sockets = ${list(sockets)},`),
    ");",
    "",
  ].join("\n");
}
