/**
 * `npm run bench`: measures, in one run on this machine, what issue 4 point 8 asks — (a) the
 * gateway's own cost against a stub upstream beside a bare Node proxy and nginx, (b) the real
 * system direct and through the gateway, (c) latency added at a fixed rate, (d) restock → SSE,
 * (e) `npm start` cold and warm, (f) resident memory — plus a CPU profile of the gateway under
 * load; and what issue 14 asks — (kit) the services' CPU per request beside a Fastify reference,
 * (kit-profile) where that CPU goes, (memory) what an idle service's memory is made of; and
 * writes docs/benchmarks.md (its generated part) and .data/bench/<date>.json.
 *
 *   npm run bench                               everything (about 15 minutes here)
 *   npm run bench -- --only a,c                 some sections (a b c d e f kit kit-profile memory
 *                                               profile; c and f come with a and b, d with b);
 *                                               docs are not rewritten unless --write is given
 *   npm run bench -- --duration 5 --warmup 1    shorter runs (seconds)
 *   npm run bench -- --rounds 1                 the runs a goal compares taken once, not in 3
 *                                               interleaved rounds (see measureInterleaved)
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dataRoot, repoRoot } from "../paths.js";
import { benchGatewayCost } from "./gateway-cost.js";
import { benchKitCost } from "./kit-cost.js";
import { profileKit } from "./kit-profile.js";
import { describeMachine } from "./machine.js";
import { benchMemoryBreakdown } from "./memory-breakdown.js";
import { benchMl } from "./ml.js";
import { profileGateway } from "./profile.js";
import { benchRealSystem } from "./real-system.js";
import { type BenchResults, renderReport, spliceReport } from "./report.js";
import type { RunSettings } from "./runner.js";
import { benchStartup } from "./startup.js";

const SECTIONS = ["a", "b", "c", "d", "e", "f", "kit", "kit-profile", "memory", "profile"] as const;

function say(line: string): void {
  process.stdout.write(`bench | ${line}\n`);
}

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    rate: { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
    write: { type: "boolean", default: false },
  },
});
const only = values.only?.split(",").map((s) => s.trim());
const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`unknown section(s) ${unknown.join(", ")}; known: ${SECTIONS.join(" ")}\n`);
  process.exit(2);
}
const wants = (...names: string[]) => !only || names.some((name) => only.includes(name));
const settings: RunSettings = {
  connections: Number(values.connections),
  durationSeconds: Number(values.duration),
  warmupSeconds: Number(values.warmup),
  fixedRate: Number(values.rate),
  rounds: Number(values.rounds),
  say,
};

const begin = performance.now();
const machine = await describeMachine();
say(
  `${machine.cpuModel}, ${machine.processors} processors, Node ${machine.node}, load average ${machine.loadAverage.toFixed(2)}`,
);
const results: BenchResults = {
  machine,
  settings: {
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
    warmupSeconds: settings.warmupSeconds,
    fixedRate: settings.fixedRate,
    rounds: settings.rounds,
  },
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  seconds: 0,
};
if (wants("a", "c", "f")) results.gatewayCost = await benchGatewayCost(settings);
if (wants("b", "c", "d", "f")) results.realSystem = await benchRealSystem(settings, [benchMl]);
if (wants("e")) results.startup = await benchStartup(say);
if (wants("kit")) results.kitCost = await benchKitCost(settings);
if (wants("kit-profile")) results.kitProfile = await profileKit(settings);
if (wants("memory")) results.memoryBreakdown = await benchMemoryBreakdown(settings);
if (wants("profile")) results.profile = await profileGateway(settings);
results.seconds = (performance.now() - begin) / 1000;

const outDir = join(dataRoot, "bench");
await mkdir(outDir, { recursive: true });
const jsonFile = join(outDir, `${machine.date.replace(/[:.]/g, "-")}.json`);
await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
say(`raw results: ${jsonFile}`);
if (!only || values.write) {
  const docs = join(repoRoot, "docs", "benchmarks.md");
  const existing = await readFile(docs, "utf8").catch(() => undefined);
  await writeFile(docs, spliceReport(existing, renderReport(results)));
  say(`wrote ${docs}`);
} else {
  process.stdout.write(`\n${renderReport(results)}\n`);
}
