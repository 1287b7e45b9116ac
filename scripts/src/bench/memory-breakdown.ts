/**
 * What an idle service process's resident memory is made of (issue 14 goal 3): `VmRSS` split by
 * Linux into anonymous memory (the V8 heap, malloc) and file-backed pages (the `node` binary and
 * shared libraries, shared between processes but counted in each one's RSS), and a heap snapshot
 * (`--heapsnapshot-signal`) taken idle, summarised as the heap's live size and the code each
 * package left in it: module source text (V8 keeps it for lazy compilation) plus bytecode.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readServiceDeclarations } from "../services/declarations.js";
import { pidListeningOn } from "./memory.js";
import type { RunSettings } from "./runner.js";
import { startStandaloneSystem } from "./standalone-system.js";

/** The memory of one idle process. */
export interface ProcessMemory {
  name: string;
  /** `VmRSS`, `RssAnon` and `RssFile` from `/proc/<pid>/status`, in bytes, 2 s after ready. */
  resident: number;
  /**
   * `VmRSS` after {@link SETTLE_MS} without a request, in bytes: idle for good, once V8's memory
   * reducer (which starts a few seconds into an idle period) has shrunk the heap start-up left.
   */
  settled: number;
  anonymous: number;
  fileBacked: number;
  /** Sum of the self sizes of every node of the heap snapshot, in bytes. */
  heapLive: number;
  /** Source text + bytecode per package (or `node:` / our workspace), largest first, bytes. */
  codeByOrigin: { origin: string; bytes: number }[];
  /** Live heap by V8 node type (`object`, `code`, `string`, `array`, `hidden`…), largest first. */
  heapByType: { type: string; bytes: number }[];
}

/** What the memory section measured. */
export interface MemoryBreakdownResult {
  processes: ProcessMemory[];
}

/** How long the processes are left idle before their settled `VmRSS` is read, in ms. */
export const SETTLE_MS = 60_000;

/**
 * The processes whose memory is broken down: every Node process of the system (the TypeScript
 * rows of the process table). The whole table starts, since the gateway is ready only once every
 * upstream is.
 */
const PROCESSES = [
  ...readServiceDeclarations()
    .filter((service) => service.language === "typescript")
    .map((service) => service.name),
  "gateway",
];

/** `node:`, a workspace of ours (`services/kit`), or a package name. */
function originOfScript(url: string): string {
  if (url.startsWith("node:")) return "node: (Node's own modules)";
  const ours = /\/js\/((?:services|gateway|contracts|clients)(?:\/[^/]+)?)\//.exec(url)?.[1];
  if (ours) return ours.startsWith("services/") ? ours : (ours.split("/")[0] as string);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/.][^/]*)\//.exec(
    url.replace(/.*node_modules\/\.cache\//, ""),
  )?.[1];
  return pkg ?? "other";
}

interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      edge_fields: string[];
      node_types: [string[]];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The live size of a heap snapshot and its code by origin (see the module comment). */
export function summariseHeapSnapshot(
  snapshot: HeapSnapshot,
): Pick<ProcessMemory, "heapLive" | "codeByOrigin" | "heapByType"> {
  const { meta } = snapshot.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const [TYPE, NAME, , SELF_SIZE, EDGE_COUNT] = [0, 1, 2, 3, 4];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snapshot;
  const firstEdge = new Uint32Array(nodes.length / nodeFields + 1);
  let heapLive = 0;
  const byType = new Map<string, number>();
  for (let i = 0, n = 0, e = 0; i < nodes.length; i += nodeFields, n++) {
    firstEdge[n] = e;
    e += nodes[i + EDGE_COUNT] as number;
    const size = nodes[i + SELF_SIZE] as number;
    heapLive += size;
    const type = (nodeTypes[nodes[i + TYPE] as number] ?? "?").replace(
      /^(concatenated|sliced) /,
      "",
    );
    byType.set(type, (byType.get(type) ?? 0) + size);
  }
  const edgesOf = function* (node: number) {
    const from = (firstEdge[node] as number) * edgeFields;
    const count = nodes[node * nodeFields + EDGE_COUNT] as number;
    for (let k = 0; k < count; k++) {
      const at = from + k * edgeFields;
      const type = edgeTypes[edges[at] as number];
      const name = type === "element" || type === "hidden" ? "" : strings[edges[at + 1] as number];
      yield { name, to: (edges[at + 2] as number) / nodeFields };
    }
  };
  const typeOf = (node: number) => nodeTypes[nodes[node * nodeFields + TYPE] as number];
  const nameOf = (node: number) => strings[nodes[node * nodeFields + NAME] as number] ?? "";
  const sizeOf = (node: number) => nodes[node * nodeFields + SELF_SIZE] as number;

  const code = new Map<string, number>();
  const add = (url: string, bytes: number) => {
    const origin = originOfScript(url);
    code.set(origin, (code.get(origin) ?? 0) + bytes);
  };
  const nodeCount = nodes.length / nodeFields;
  for (let node = 0; node < nodeCount; node++) {
    if (typeOf(node) !== "code") continue;
    let script: number | undefined;
    let bytecode = 0;
    let source = 0;
    for (const edge of edgesOf(node)) {
      if (edge.name === "script_or_debug_info" && typeOf(edge.to) === "code") script = edge.to;
      if (edge.name === "function_data" && nameOf(edge.to) === "system / BytecodeArray") {
        bytecode = sizeOf(edge.to);
      }
      if (edge.name === "source" && typeOf(edge.to)?.includes("string")) source = sizeOf(edge.to);
    }
    if (script !== undefined && bytecode > 0) add(nameOf(script), bytecode); // a function's bytecode
    if (source > 0) add(nameOf(node), source); // a Script's source text
  }
  return {
    heapLive,
    heapByType: [...byType]
      .map(([type, bytes]) => ({ type, bytes }))
      .sort((a, b) => b.bytes - a.bytes),
    codeByOrigin: [...code]
      .map(([origin, bytes]) => ({ origin, bytes }))
      .sort((a, b) => b.bytes - a.bytes),
  };
}

/** A field of `/proc/<pid>/status` in bytes. */
function statusBytes(status: string, field: string): number {
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1];
  return Number(kib ?? 0) * 1024;
}

/**
 * Starts the system (own NATS and PostgreSQL), its Node processes able to write a heap snapshot
 * on SIGUSR2, waits until they are idle, and breaks each one's memory down.
 * @throws Error when a process writes no snapshot within 60 s.
 */
export async function benchMemoryBreakdown(settings: RunSettings): Promise<MemoryBreakdownResult> {
  settings.say(`memory: starting the system, breaking down ${PROCESSES.join(", ")} …`);
  const dir = await mkdtemp(join(tmpdir(), "portico-bench-heap-"));
  const heapFlags = { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}` };
  const system = await startStandaloneSystem({
    name: "bench-memory",
    envByProcess: Object.fromEntries(PROCESSES.map((name) => [name, heapFlags])),
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const pids: Record<string, number> = {};
    const early: Record<string, string> = {};
    for (const name of PROCESSES) {
      const pid = await pidListeningOn(system.ports[name] as number);
      if (pid === undefined) throw new Error(`${name} is not listening`);
      pids[name] = pid;
      early[name] = await readFile(`/proc/${pid}/status`, "utf8");
    }
    // Read before any snapshot: writing one allocates far more than the process holds.
    settings.say(`memory: leaving them idle for ${SETTLE_MS / 1000} s …`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS - 2000));
    const settled: Record<string, number> = {};
    for (const name of PROCESSES) {
      const status = await readFile(`/proc/${pids[name]}/status`, "utf8");
      settled[name] = statusBytes(status, "VmRSS");
    }
    const processes: ProcessMemory[] = [];
    for (const name of PROCESSES) {
      const pid = pids[name] as number;
      const status = early[name] as string;
      const before = new Set(await readdir(dir));
      process.kill(pid, "SIGUSR2");
      let file: string | undefined;
      for (let waited = 0; !file && waited < 60_000; waited += 500) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        // Complete once its JSON ends (the file is written in one pass).
        for (const entry of await readdir(dir)) {
          if (before.has(entry) || !entry.endsWith(".heapsnapshot")) continue;
          const text = await readFile(join(dir, entry), "utf8");
          if (text.trimEnd().endsWith("}")) file = join(dir, entry);
        }
      }
      if (!file) throw new Error(`${name} wrote no heap snapshot`);
      const summary = summariseHeapSnapshot(JSON.parse(await readFile(file, "utf8")));
      await rm(file);
      processes.push({
        name,
        resident: statusBytes(status, "VmRSS"),
        settled: settled[name] as number,
        anonymous: statusBytes(status, "RssAnon"),
        fileBacked: statusBytes(status, "RssFile"),
        ...summary,
      });
      settings.say(
        `memory: ${name} ${(statusBytes(status, "VmRSS") / 2 ** 20).toFixed(0)} MiB resident (${((settled[name] as number) / 2 ** 20).toFixed(0)} MiB idle ${SETTLE_MS / 1000} s), heap ${(summary.heapLive / 2 ** 20).toFixed(1)} MiB live`,
      );
    }
    return { processes };
  } finally {
    await system.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
