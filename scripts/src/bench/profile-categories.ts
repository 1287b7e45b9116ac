/**
 * Where a server's CPU time goes, by category (the framework, the validator, the query builder,
 * the driver, logging, garbage collection, our own code…), from a V8 `.cpuprofile` restricted to
 * the time window of a load run. Each sample is charged to one category, so they add up: to the
 * package or code of ours that asked for it — its innermost frame outside Node.js itself, so a
 * native function (`JSON.stringify`, a validator Ajv compiled with `new Function`) or a Node
 * internal (`setHeader`, a timer) counts for the code that called it — except socket writes
 * (their own category), Node's own work with no such caller (HTTP parsing, the event loop), and
 * `(garbage collector)` and `(program)`; `(idle)` counts for none.
 */
import { readFile } from "node:fs/promises";

/** A V8 `.cpuprofile` (the fields used here). */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string };
    children?: number[];
  }[];
  /** Microseconds of the monotonic clock (the one `process.hrtime` reads). */
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds since the previous sample. */
  timeDeltas: number[];
}

/** Packages by category; a frame's package is the first `node_modules/<name>` of its path. */
const PACKAGE_CATEGORIES: [string, RegExp][] = [
  [
    "Express 5 + router",
    /^(express|router|finalhandler|send|serve-static|accepts|negotiator|content-type|content-disposition|type-is|mime-types|mime-db|media-typer|on-finished|ee-first|parseurl|path-to-regexp|vary|encodeurl|escape-html|etag|fresh|cookie|cookie-signature|depd|merge-descriptors|utils-merge|statuses|http-errors|setprototypeof|inherits|toidentifier|range-parser|proxy-addr|forwarded|ipaddr\.js|qs|methods|debug|ms|once|wrappy|side-channel.*|call-bound|get-intrinsic|es-.*|object-inspect|math-intrinsics|dunder-proto|hasown|gopd|has-symbols|function-bind)$/,
  ],
  ["body parsing (body-parser, raw-body)", /^(body-parser|raw-body|iconv-lite|bytes|unpipe)$/],
  ["express-openapi-validator", /^(express-openapi-validator|@apidevtools\/.*|lodash.*|multer)$/],
  ["Ajv (library code)", /^(ajv|ajv-formats|fast-uri|fast-deep-equal|json-schema-traverse)$/],
  ["Kysely", /^kysely$/],
  [
    "pg",
    /^(pg|pg-pool|pg-protocol|pg-types|pg-connection-string|pg-int8|pg-cloudflare|postgres-array|postgres-bytea|postgres-date|postgres-interval|pgpass|split2)$/,
  ],
  [
    "logging (pino)",
    /^(pino|pino-http|pino-std-serializers|sonic-boom|fast-redact|@pinojs\/.*|quick-format-unescaped|safe-stable-stringify|thread-stream|on-exit-leak-free|atomic-sleep|real-require)$/,
  ],
  ["metrics (prom-client)", /^(prom-client|tdigest|bintrees)$/],
  ["OpenTelemetry", /^@opentelemetry\//],
  ["jose (tokens)", /^jose$/],
  ["NATS client", /^@nats-io\//],
  [
    "Fastify (router, serialiser, glue, plugins)",
    /^(fastify|fastify-plugin|fastify-openapi-glue|find-my-way|avvio|fast-json-stringify|@fastify\/.*|light-my-request|fast-querystring|fast-decode-uri-component|toad-cache|rfdc|secure-json-parse|abstract-logging|json-schema-ref-resolver|safe-regex2|ret|fastq|reusify|process-warning|@seriousme\/.*)$/,
  ],
  ["uuid", /^uuid$/],
];

/** V8's pseudo-frames: their category, or undefined for idle time (not counted). */
const PSEUDO_FRAMES: Record<string, string | undefined> = {
  "(idle)": undefined,
  "(garbage collector)": "garbage collection",
  "(program)": "(program: V8 and native, no JavaScript)",
};

/**
 * Node's socket writes (the `writev`/`write` system calls on the main thread): charged to their own
 * category, not to the code that asked, because their sampled time grows with the machine's load
 * (the writer is often descheduled right there, as the write wakes up its reader).
 */
const SOCKET_WRITES = new Set([
  "writevGeneric",
  "writeGeneric",
  "writev",
  "writeBuffer",
  "writeUtf8String",
  "writeLatin1String",
]);
const SOCKET_WRITE_CATEGORY = "socket writes (write/writev system calls)";

/**
 * The async hooks behind `AsyncLocalStorage` (on Node 20: an init hook on every promise and
 * resource once any store was entered): charged to their own category rather than to the code
 * that created the promise, so their cost shows. Not `callbackTrampoline`, which every callback
 * from native code passes through, hooks or not.
 */
const ASYNC_CONTEXT_HOOKS = new Set([
  "promiseInitHook",
  "promiseInitHookWithDestroyTracking",
  "promiseBeforeHook",
  "promiseAfterHook",
  "promiseResolveHook",
  "emitInitScript",
  "emitInitNative",
  "emitBeforeScript",
  "emitAfterScript",
  "lookupPublicResource",
  "_propagate",
  "executionAsyncResource",
  "init", // AsyncLocalStorage's own hook (only in node:async_hooks, checked below)
]);
const ASYNC_CONTEXT_CATEGORY = "async context (AsyncLocalStorage's hooks)";

/** Node's own work that no package or code of ours asked for: HTTP parsing, the event loop. */
const NODE_CORE = "Node.js core alone (HTTP parsing, event loop, timers)";

/** Our own code by where it lives (checked first: the transpiled mirror is under node_modules). */
const CODE_CATEGORIES: [string, string][] = [
  ["/bench-reference/", "the reference's own code"],
  ["/services/kit/src/", "kit (our shared code)"],
  ["/gateway/src/", "gateway (our code)"],
  ["/contracts/", "@portico/contracts (event validation)"],
  ["/services/", "the service's handlers and queries"],
];

/** The category of a frame with a source `url`. */
export function categoryOf(url: string): string {
  for (const [part, category] of CODE_CATEGORIES) if (url.includes(part)) return category;
  if (url.startsWith("node:")) return "Node.js core (http, net, streams, crypto, timers)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (!pkg) return url;
  return PACKAGE_CATEGORIES.find(([, names]) => names.test(pkg))?.[0] ?? `other package: ${pkg}`;
}

/** CPU time of one category within the window. */
export interface CategoryTime {
  name: string;
  /** Sampled time, in µs. */
  micros: number;
}

/** A profile's busy time within a window, by category. */
export interface CategorisedProfile {
  /** Sampled non-idle time within the window, in µs (the main thread only). */
  busyMicros: number;
  /** Length of the window the profile covered, in µs. */
  windowMicros: number;
  /** Largest first. */
  categories: CategoryTime[];
}

/**
 * Reads `file` and charges each sample taken between `fromMicros` and `toMicros` (monotonic
 * clock, as `process.hrtime.bigint() / 1000n`) to its category.
 * @throws Error when the file is not a V8 CPU profile or has no sample in the window.
 */
export async function categoriseProfile(
  file: string,
  fromMicros: number,
  toMicros: number,
): Promise<CategorisedProfile> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.timeDeltas)) {
    throw new Error(`${file} is not a V8 CPU profile`);
  }
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  /** Category of a sample whose innermost frame is `leaf`; undefined when idle. */
  const categoryByNode = new Map<number, string | undefined>();
  const categoryOfNode = (leaf: number): string | undefined => {
    if (categoryByNode.has(leaf)) return categoryByNode.get(leaf);
    let category: string | undefined = "native (no JavaScript caller)";
    let inNode = false;
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const { functionName, url } = (byId.get(id) as CpuProfile["nodes"][number]).callFrame;
      if (url !== "" && !url.startsWith("node:")) {
        category = categoryOf(url);
        break;
      }
      if (Object.hasOwn(PSEUDO_FRAMES, functionName)) {
        category = PSEUDO_FRAMES[functionName];
        break;
      }
      if (
        ASYNC_CONTEXT_HOOKS.has(functionName) &&
        (url === "node:async_hooks" || url.startsWith("node:internal/async_hooks"))
      ) {
        category = ASYNC_CONTEXT_CATEGORY;
        break;
      }
      if (!inNode && SOCKET_WRITES.has(functionName)) {
        category = SOCKET_WRITE_CATEGORY;
        break;
      }
      if (url !== "") {
        inNode = true;
        category = NODE_CORE;
      }
    }
    categoryByNode.set(leaf, category);
    return category;
  };

  const micros = new Map<string, number>();
  let busyMicros = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromMicros || at > toMicros) continue;
    const category = categoryOfNode(profile.samples[i] as number);
    if (category === undefined) continue;
    busyMicros += delta;
    micros.set(category, (micros.get(category) ?? 0) + delta);
  }
  if (busyMicros === 0) throw new Error(`${file} has no busy sample in the measured window`);
  return {
    busyMicros,
    windowMicros: Math.min(toMicros, profile.endTime) - Math.max(fromMicros, profile.startTime),
    categories: [...micros]
      .map(([name, value]) => ({ name, micros: value }))
      .sort((a, b) => b.micros - a.micros),
  };
}
