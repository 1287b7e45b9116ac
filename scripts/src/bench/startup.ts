/**
 * Section (e): `npm start` until every process is ready ("Portico is up" on its output), cold (a
 * fresh, empty data directory: PostgreSQL cluster initialised, databases created and migrated,
 * JetStream store new) and warm (the same directory again). `PORTICO_DATA_DIR` points it at a
 * temporary directory, so the developer's own `.data/` is never touched. `npm start` binds fixed
 * ports; when one is taken the section is reported as not measured.
 */
import { spawn } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
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
 * service and its infrastructure, so killing it earlier would orphan them. SIGKILL after
 * `graceMs`.
 */
async function stopGroup(pgid: number, graceMs: number): Promise<void> {
  try {
    process.kill(-pgid, "SIGINT");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await delay(100);
  if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
}

/** Spawns `npm start` with `dataDir`, waits for "Portico is up", stops it; resolves its timing. */
async function timeStart(dataDir: string, timeoutMs: number): Promise<StartTiming> {
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
  const pgid = child.pid as number;
  let reported: number | undefined;
  let breakdown: string | undefined;
  let upAt: number | undefined;
  const up = new Promise<number>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        tail.push(line);
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
  try {
    const seconds = await Promise.race([
      up,
      delay(timeoutMs).then(() => {
        throw new Error(`npm start was not up within ${timeoutMs} ms:\n${tail.join("\n")}`);
      }),
    ]);
    return { seconds, reported, breakdown };
  } finally {
    await stopGroup(pgid, 60_000);
  }
}

/** Waits until every port is free again (a stopped start's servers have let go), up to 30 s. */
async function waitForPortsFree(ports: [string, number][]): Promise<string | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const busy = [];
    for (const [what, port] of ports) if (!(await isPortFree(port))) busy.push(`${port} (${what})`);
    if (busy.length === 0) return undefined;
    if (Date.now() > deadline) return busy.join(", ");
    await delay(250);
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
    const cold = await timeStart(dataDir, 180_000);
    say(`(e) npm start, cold: ${cold.seconds.toFixed(1)} s (reported ${cold.reported} s)`);
    if (cold.breakdown) say(`(e)   ${cold.breakdown}`);
    const warm: StartTiming[] = [];
    for (let run = 0; run < warmRuns; run += 1) {
      const busy = await waitForPortsFree(ports);
      if (busy) throw new Error(`after stopping \`npm start\`, ports still in use: ${busy}`);
      const timing = await timeStart(dataDir, 120_000);
      say(`(e) npm start, warm: ${timing.seconds.toFixed(1)} s (reported ${timing.reported} s)`);
      if (timing.breakdown) say(`(e)   ${timing.breakdown}`);
      warm.push(timing);
    }
    return { measured: true, cold, warm };
  } catch (error) {
    return { measured: false, reason: (error as Error).message.split("\n")[0] ?? "failed" };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
