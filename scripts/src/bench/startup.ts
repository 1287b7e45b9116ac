/**
 * Section (e): `npm start` until every process is ready ("Portico is up" on its output), cold (a
 * fresh, empty data directory: PostgreSQL cluster initialised, databases created and migrated,
 * JetStream store new) and warm (the same directory again). `PORTICO_DATA_DIR` points it at a
 * temporary directory, so the developer's own `.data/` is never touched. `npm start` binds fixed
 * ports; when one is taken the section is reported as not measured. Each start is stopped as a
 * user stops it (Ctrl-C: SIGINT to its process group) and must leave nothing behind: a start whose
 * processes outlive it, or keep a port, ends the section with what was left (and kills that).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { isPortFree } from "../infra/ports.js";
import { repoRoot } from "../paths.js";
import { SYSTEM_PROCESSES } from "../system.js";

/** Ports `npm start` binds besides the processes' own (see scripts/src/start.ts). */
const INFRA_PORTS = { nats: 4222, postgres: 5433, smtp: 1025, "mail API": 8025 };

/** One timed start. */
export interface StartTiming {
  /** Seconds from spawning `npm start` to its "Portico is up" line. */
  seconds: number;
  /** What the orchestrator itself reported ("Portico is up in N s"), in seconds. */
  reported: number | undefined;
  /**
   * Where its time went, as the orchestrator printed it under that line (infrastructure, then
   * each process from spawn to ready, stage by stage), e.g. `infrastructure 0.1 s, ...`.
   */
  breakdown?: string | undefined;
}

/** Section (e)'s outcome. */
export type StartupResult =
  | { measured: true; cold: StartTiming; warm: StartTiming[] }
  | { measured: false; reason: string };

/** Variables that would make `npm start` use outside infrastructure instead of starting its own. */
const OUTSIDE_INFRA = [
  "NATS_URL",
  "DATABASE_URL",
  "USERS_DATABASE_URL",
  "PRODUCTS_DATABASE_URL",
  "NOTIFICATIONS_DATABASE_URL",
  "SMTP_URL",
  "MAIL_API_URL",
  "REPLICAS",
];

/** Whether any process of the process group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops `npm start` as Ctrl-C would: SIGINT to its process group (npm, tsx, the orchestrator),
 * then waits until the whole group is gone — the orchestrator exits only after it stopped every
 * service and its infrastructure. SIGKILL after `graceMs`. Resolves how it went, e.g. `exited
 * with code 0 1.2 s after SIGINT`.
 */
async function stopGroup(
  child: ChildProcess,
  exited: Promise<string>,
  graceMs: number,
): Promise<string> {
  const pgid = child.pid as number;
  const begin = performance.now();
  try {
    process.kill(-pgid, "SIGINT");
  } catch {
    return `had already ${await exited}`;
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await delay(100);
  const after = `${((performance.now() - begin) / 1000).toFixed(1)} s after SIGINT`;
  if (!groupAlive(pgid)) {
    const held = delay(5000).then(() => "exited, its output still held open by another process,");
    return `${await Promise.race([exited, held])} ${after}`;
  }
  process.kill(-pgid, "SIGKILL");
  return `was still running ${after}: killed (SIGKILL)`;
}

/**
 * Processes still running with `PORTICO_DATA_DIR=dataDir` in their environment (read from
 * `/proc/<pid>/environ`, so Linux only; elsewhere none are found): what a start with that data
 * directory left behind, e.g. `4242 node …/users/src/main.js`.
 */
async function processesOf(dataDir: string): Promise<{ pid: number; command: string }[]> {
  const marker = Buffer.from(`\0PORTICO_DATA_DIR=${dataDir}\0`);
  const pids = (await readdir("/proc").catch(() => [])).filter((name) => /^\d+$/.test(name));
  const found: { pid: number; command: string }[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = Buffer.concat([Buffer.from("\0"), await readFile(`/proc/${pid}/environ`)]);
      if (!environ.includes(marker)) continue;
      const command = (await readFile(`/proc/${pid}/cmdline`, "utf8")).replace(/[\0\s]+/g, " ");
      found.push({ pid: Number(pid), command: command.trim() });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * Spawns `npm start` with `dataDir`, waits for "Portico is up", stops it (see {@link stopGroup});
 * resolves its timing and how the stop went.
 */
async function timeStart(
  dataDir: string,
  timeoutMs: number,
): Promise<{ timing: StartTiming; stopped: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORTICO_DATA_DIR: dataDir, NO_COLOR: "1" };
  for (const name of OUTSIDE_INFRA) delete env[name];
  const tail: string[] = [];
  const begin = performance.now();
  const child = spawn("npm", ["start", "--silent"], {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // "close": exited, and its output read to the end (its last line included).
  const exited = new Promise<string>((resolve) =>
    child.once("close", (code, signal) =>
      resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`),
    ),
  );
  let reported: number | undefined;
  let breakdown: string | undefined;
  let upAt: number | undefined;
  let stoppedLine = false;
  const up = new Promise<number>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        tail.push(line);
        if (/\| stopped\.$/.test(line)) stoppedLine = true;
        if (tail.length > 30) tail.shift();
        const match = /Portico is up in ([\d.]+) s/.exec(line);
        if (match) {
          reported = Number(match[1]);
          upAt = (performance.now() - begin) / 1000;
        }
        // The line after it: "(infrastructure 0.1 s, ...)"; resolve on it, or on the next line.
        const detail = /\((infrastructure .*)\)\s*$/.exec(line);
        if (detail) breakdown = detail[1];
        if (upAt !== undefined && !match) resolve(upAt);
      });
    }
    child.once("exit", (code, signal) =>
      reject(
        new Error(`npm start ended (${code ?? signal}) before it was up:\n${tail.join("\n")}`),
      ),
    );
    child.once("error", reject);
  });
  let seconds: number;
  try {
    seconds = await Promise.race([
      up,
      delay(timeoutMs).then(() => {
        throw new Error(`npm start was not up within ${timeoutMs} ms:\n${tail.join("\n")}`);
      }),
    ]);
  } catch (error) {
    await stopGroup(child, exited, 60_000);
    throw error;
  }
  const stopped = await stopGroup(child, exited, 60_000);
  // Without its last line the orchestrator was killed before it stopped everything itself (tsx's
  // CLI kills it when it cannot acknowledge the relayed signal in time); its reaper stopped the rest.
  const how = stoppedLine
    ? "after stopping everything"
    : `without its \`stopped.\` line (its last: \`${tail.at(-1)?.slice(0, 100)}\`)`;
  return { timing: { seconds, reported, breakdown }, stopped: `${stopped}, ${how}` };
}

/**
 * After a start was stopped (`stopped` says how): `undefined` once it has left nothing behind —
 * every port free and no process running from `dataDir` — within 30 s; else what it left, which is
 * then killed, so the machine is clean for whatever runs next.
 */
async function leftoversOf(
  stopped: string,
  ports: [string, number][],
  dataDir: string,
): Promise<string | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const busy = [];
    for (const [what, port] of ports) if (!(await isPortFree(port))) busy.push(`${port} (${what})`);
    const left = await processesOf(dataDir);
    if (busy.length === 0 && left.length === 0) return undefined;
    if (Date.now() < deadline) {
      await delay(250);
      continue;
    }
    for (const { pid } of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const parts = [`\`npm start\` ${stopped}`];
    if (busy.length > 0) parts.push(`ports still in use 30 s later: ${busy.join(", ")}`);
    if (left.length > 0) {
      const shown = left.map(({ pid, command }) => `${pid} \`${command.slice(0, 100)}\``);
      parts.push(`its processes still running 30 s later (now killed): ${shown.join(", ")}`);
    }
    return parts.join("; ");
  }
}

/** Times one cold and `warmRuns` warm starts of `npm start`. */
export async function benchStartup(
  say: (line: string) => void,
  warmRuns = 2,
): Promise<StartupResult> {
  const ports: [string, number][] = [
    ...Object.entries(INFRA_PORTS),
    ...SYSTEM_PROCESSES.map((spec) => [spec.name, spec.defaultPort] as [string, number]),
  ];
  for (const [what, port] of ports) {
    if (!(await isPortFree(port))) {
      return {
        measured: false,
        reason: `port ${port} (${what}) was in use: \`npm start\` binds fixed ports`,
      };
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "portico-bench-start-"));
  await chmod(dir, 0o755); // as root, PostgreSQL runs as `postgres` and must enter it
  try {
    const dataDir = join(dir, "data");
    const timings: StartTiming[] = [];
    for (let run = 0; run <= warmRuns; run += 1) {
      const { timing, stopped } = await timeStart(dataDir, run === 0 ? 180_000 : 120_000);
      const kind = run === 0 ? "cold" : "warm";
      say(`(e) npm start, ${kind}: ${timing.seconds.toFixed(1)} s (reported ${timing.reported} s)`);
      if (timing.breakdown) say(`(e)   ${timing.breakdown}`);
      say(`(e)   stopped: it ${stopped}`);
      const left = await leftoversOf(stopped, ports, dataDir);
      if (left) throw new Error(`after stopping the ${kind} start, ${left}`);
      timings.push(timing);
    }
    const [cold, ...warm] = timings as [StartTiming, ...StartTiming[]];
    return { measured: true, cold, warm };
  } catch (error) {
    return { measured: false, reason: (error as Error).message.split("\n")[0] ?? "failed" };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
