/**
 * A CPU profile of the gateway under load (`node --cpu-prof`, V8's sampling profiler), reduced to
 * where the time goes: self time per function and per origin (a package under node_modules, the
 * gateway's or the kit's sources, Node's internals, garbage collection, idle).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestIssuer } from "@portico/kit/testing";
import { Stack } from "./children.js";
import { cpuProfilesIn, STUB_PRODUCT_ID, startGatewayOnStub, startStub } from "./gateway-cost.js";
import { runLoad } from "./load.js";
import type { RunSettings } from "./runner.js";

/** One node of V8's `.cpuprofile` call tree (the fields used here). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** A line of the summary: what, and its share of all samples (0..1). */
export interface ProfileShare {
  name: string;
  share: number;
}

/** The summary of one profile. */
export interface ProfileSummary {
  /** Wall time the profile covers, in seconds. */
  seconds: number;
  /** Share of samples the process was not idle. */
  busy: number;
  /** Self time by origin, largest first (idle excluded). */
  byOrigin: ProfileShare[];
  /** Self time by function, largest first (idle excluded). */
  byFunction: ProfileShare[];
  /** Total time (self + callees) of selected frames of the gateway pipeline, largest first. */
  byStage: ProfileShare[];
}

/** The origin of a frame: `pkg:<name>`, `gateway`, `kit`, `node:<module>`, or a V8 pseudo-frame. */
export function originOf(url: string, functionName: string): string {
  if (url === "") {
    return functionName.startsWith("(") ? functionName : "(native)";
  }
  // Before packages: `npm start` runs the workspaces from node_modules/.cache/portico/js/.
  if (url.includes("/gateway/src/")) return "gateway";
  if (url.includes("/services/kit/src/")) return "kit";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return `pkg:${pkg}`;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  return url.replace(/^file:\/\/.*\/work\/[^/]+\//, "");
}

/** Frames whose total time tells how long each stage of the gateway pipeline takes. */
const STAGES: [string, (node: ProfileNode) => boolean][] = [
  ["express-openapi-validator (all)", (n) => n.callFrame.url.includes("express-openapi-validator")],
  ["pino (logging)", (n) => /node_modules\/pino(-http)?\//.test(n.callFrame.url)],
  ["http-proxy(-middleware)", (n) => /node_modules\/http-proxy/.test(n.callFrame.url)],
  [
    "body reading (raw-body, body-parser)",
    (n) => /node_modules\/(raw-body|body-parser)\//.test(n.callFrame.url),
  ],
  ["jose (token verification)", (n) => n.callFrame.url.includes("node_modules/jose/")],
  ["OpenTelemetry (tracing)", (n) => n.callFrame.url.includes("node_modules/@opentelemetry/")],
  ["prom-client (metrics)", (n) => n.callFrame.url.includes("node_modules/prom-client/")],
  ["express-rate-limit", (n) => n.callFrame.url.includes("node_modules/express-rate-limit/")],
  ["helmet + cors (headers)", (n) => /node_modules\/(helmet|cors)\//.test(n.callFrame.url)],
  ["cockatiel (retries, circuit breaker)", (n) => n.callFrame.url.includes("/cockatiel/")],
  ["gateway code (fast lane, proxy, ...)", (n) => n.callFrame.url.includes("/gateway/src/")],
];

/**
 * Reads a `.cpuprofile` and summarises it (top `limit` entries per list).
 * @throws Error when the file is not a V8 CPU profile.
 */
export async function summariseProfile(file: string, limit = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, "utf8")) as {
    nodes: ProfileNode[];
    startTime: number;
    endTime: number;
    samples: number[];
  };
  if (!Array.isArray(profile.nodes)) throw new Error(`${file} is not a V8 CPU profile`);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0) || 1;
  const idle = profile.nodes
    .filter((node) => node.callFrame.functionName === "(idle)")
    .reduce((sum, node) => sum + (node.hitCount ?? 0), 0);

  const origins = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (hits === 0 || functionName === "(idle)") continue;
    const origin = originOf(url, functionName);
    origins.set(origin, (origins.get(origin) ?? 0) + hits);
    const file = url.split("/").pop() ?? "";
    const where = origin === "gateway" || origin === "kit" ? `${origin}/${file}` : origin;
    const name = `${functionName || "(anonymous)"} ${where}${url ? `:${lineNumber + 1}` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + hits);
  }

  // Total time of a stage: samples whose stack contains a frame of it (counted once per sample).
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const stageHits = STAGES.map(() => 0);
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const seen = STAGES.map(() => false);
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id);
      if (!frame) break;
      STAGES.forEach(([, matches], i) => {
        if (matches(frame)) seen[i] = true;
      });
    }
    seen.forEach((hit, i) => {
      if (hit) stageHits[i] = (stageHits[i] ?? 0) + hits;
    });
  }

  const top = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, hits]) => ({ name, share: hits / total }));
  return {
    seconds: (profile.endTime - profile.startTime) / 1e6,
    busy: (total - idle) / total,
    byOrigin: top(origins),
    byFunction: top(functions),
    byStage: STAGES.map(([name], i) => ({ name, share: (stageHits[i] ?? 0) / total })).sort(
      (a, b) => b.share - a.share,
    ),
  };
}

/**
 * Profiles the gateway (on the stub upstream) under `GET /products/{id}` load for
 * `durationSeconds`, after a warm-up, and summarises the main thread's profile.
 * @throws Error when the gateway wrote no profile (it must exit normally to write one).
 */
export async function profileGateway(
  settings: RunSettings,
): Promise<ProfileSummary & { requestsPerSecond: number }> {
  const dir = await mkdtemp(join(tmpdir(), "portico-bench-prof-"));
  const stack = new Stack();
  stack.add(dir, () => rm(dir, { recursive: true, force: true }));
  try {
    const issuer = await createTestIssuer();
    const stub = await startStub(issuer);
    stack.add(stub, stub.stop);
    // The warm-up runs in a process without the profiler; the profiled one starts measured.
    const gateway = await startGatewayOnStub(stub, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    stack.add(gateway, gateway.stop);
    const target = { url: `${gateway.url}/products/${STUB_PRODUCT_ID}` };
    const result = await runLoad(target, {
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
    });
    await gateway.stop();
    // Thread 0 is the main thread (others, if any, are worker threads).
    const files = (await cpuProfilesIn(dir)).sort();
    const main = files.find((file) => /\.0\.\d+\.cpuprofile$/.test(file)) ?? files[0];
    if (!main) throw new Error("the profiled gateway wrote no .cpuprofile");
    const summary = await summariseProfile(main);
    // Kept for a closer look (e.g. in Chrome DevTools' Performance panel).
    await mkdir(join(".data", "bench"), { recursive: true });
    await copyFile(main, join(".data", "bench", "gateway.cpuprofile"));
    settings.say(
      `profile: ${Math.round(result.requestsPerSecond)} req/s while profiled; top stages ${summary.byStage
        .slice(0, 3)
        .map((s) => `${s.name} ${(s.share * 100).toFixed(0)}%`)
        .join(", ")}`,
    );
    return { ...summary, requestsPerSecond: result.requestsPerSecond };
  } finally {
    await stack.stopAll();
  }
}
