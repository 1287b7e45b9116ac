/**
 * Stopping a launcher (as `npm start` is stopped: SIGINT to its process group, or SIGKILL) leaves
 * no process it started and no port listening, however it was stopped: while its event loop is
 * busy under tsx's CLI (which SIGKILLs a child that does not acknowledge a relayed signal within
 * 60 ms), with its stdout a pipe nobody reads, or killed outright.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "@jest/globals";
import { isPortFree } from "../../src/infra/ports.js";
import { isAlive } from "../helpers.js";

const LAUNCHER = fileURLToPath(new URL("../fixtures/launcher.ts", import.meta.url));
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");

/** Whether `pid` runs (a zombie, exited but not yet reaped, does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return isAlive(pid);
  }
}

/** Polls `condition` every 100 ms until it holds, for up to `timeoutMs`. */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await condition()) || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Launched {
  launcher: ChildProcess;
  server: { pid: number; port: number };
}

const launched: ChildProcess[] = [];
const servers: number[] = [];

/**
 * Starts the launcher (through tsx's CLI, as `npm start` runs, or `node --import tsx`) as the
 * leader of a new process group, its stdout a pipe; resolves once its server is ready. With
 * `read: false` nothing reads that pipe after the ready line.
 */
async function launch(options: {
  via: "tsx-cli" | "node";
  env?: Record<string, string>;
  read?: boolean;
}): Promise<Launched> {
  const args = options.via === "tsx-cli" ? [TSX_CLI, LAUNCHER] : ["--import", "tsx", LAUNCHER];
  const launcher = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  launched.push(launcher);
  const lines = createInterface({ input: launcher.stdout as NodeJS.ReadableStream });
  const server = await new Promise<Launched["server"]>((resolve, reject) => {
    launcher.once("exit", (code) => reject(new Error(`the launcher exited (${code})`)));
    lines.on("line", (line) => {
      const ready = /^ready (\d+) (\d+)$/.exec(line);
      if (!ready) return;
      if (options.read === false) {
        lines.close();
        launcher.stdout?.pause();
      }
      resolve({ pid: Number(ready[1]), port: Number(ready[2]) });
    });
  });
  servers.push(server.pid);
  return { launcher, server };
}

/** Resolves once nothing the launch started runs or listens; fails naming what is left. */
async function expectNothingLeft({ launcher, server }: Launched): Promise<void> {
  await eventually(
    async () =>
      !running(launcher.pid as number) && !running(server.pid) && (await isPortFree(server.port)),
  );
  expect({
    launcher: running(launcher.pid as number),
    server: running(server.pid),
    listening: !(await isPortFree(server.port)),
  }).toEqual({ launcher: false, server: false, listening: false });
}

afterEach(() => {
  // Whatever a failed test left: its own processes only.
  for (const launcher of launched.splice(0)) {
    try {
      process.kill(-(launcher.pid as number), "SIGKILL");
    } catch {}
  }
  for (const pid of servers.splice(0)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
});

describe("stopping a launcher leaves nothing behind", () => {
  it("SIGINT to its process group while it is busy under tsx's CLI (which then SIGKILLs it)", async () => {
    const started = await launch({ via: "tsx-cli", env: { BUSY_MS: "3000" } });
    process.kill(-(started.launcher.pid as number), "SIGINT");
    await expectNothingLeft(started);
  });

  it("SIGINT to its process group while nobody reads its stdout and its server logs without pause", async () => {
    const started = await launch({ via: "node", env: { LOUD: "1" }, read: false });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the pipe fills up
    process.kill(-(started.launcher.pid as number), "SIGINT");
    await expectNothingLeft(started);
  });

  it("SIGKILL of the launcher alone", async () => {
    const started = await launch({ via: "node" });
    process.kill(started.launcher.pid as number, "SIGKILL");
    await expectNothingLeft(started);
  });

  it("SIGHUP (its terminal went away)", async () => {
    const started = await launch({ via: "node" });
    process.kill(-(started.launcher.pid as number), "SIGHUP");
    await expectNothingLeft(started);
  });
});
