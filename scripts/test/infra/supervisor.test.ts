import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it } from "@jest/globals";
import { type ManagedProcess, spawnManaged } from "../../src/infra/process.js";
import { CrashHistory, type RestartPolicy, Supervisor } from "../../src/infra/supervisor.js";
import { tempDir } from "../helpers.js";

const policy: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  crashLoopCrashes: 5,
  crashLoopWindowMs: 60_000,
};

describe("CrashHistory", () => {
  it("doubles the pause from 0.5 s and gives up at the fifth crash within 60 s", () => {
    const history = new CrashHistory(policy);
    const decisions = [0, 1000, 2000, 3000, 4000].map((at) => history.record(at));
    expect(decisions).toEqual([
      { action: "restart", delayMs: 500, crashes: 1 },
      { action: "restart", delayMs: 1000, crashes: 2 },
      { action: "restart", delayMs: 2000, crashes: 3 },
      { action: "restart", delayMs: 4000, crashes: 4 },
      { action: "give-up", crashes: 5 },
    ]);
  });

  it("caps the pause at 10 s and forgets crashes older than the window", () => {
    const history = new CrashHistory({ ...policy, crashLoopCrashes: 100 });
    let last = history.record(0);
    for (let i = 1; i < 8; i++) last = history.record(i);
    expect(last).toEqual({ action: "restart", delayMs: 10_000, crashes: 8 });
    expect(history.record(70_000)).toEqual({ action: "restart", delayMs: 500, crashes: 1 });
  });

  it("starts over after reset (a restart on purpose)", () => {
    const history = new CrashHistory(policy);
    for (let i = 0; i < 4; i++) history.record(i);
    history.reset();
    expect(history.record(5)).toEqual({ action: "restart", delayMs: 500, crashes: 1 });
  });
});

describe("Supervisor", () => {
  const fast: RestartPolicy = {
    initialDelayMs: 100,
    maxDelayMs: 1000,
    crashLoopCrashes: 4,
    crashLoopWindowMs: 60_000,
  };
  const children: ManagedProcess[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop(1000)));
  });

  /**
   * Runs `script` as a child process under a supervisor: every exit is reported as a crash, every
   * restart spawns it again. Resolves the report lines and how many times it was spawned.
   */
  function superviseScript(script: string) {
    const lines: string[] = [];
    let spawns = 0;
    const supervisor = new Supervisor({
      policy: fast,
      report: (line) => lines.push(line),
      restart: async (name) => {
        launch(name);
      },
    });
    const launch = (name: string) => {
      spawns++;
      const child = spawnManaged({ name, command: process.execPath, args: ["-e", script] });
      children.push(child);
      child.exited.then((info) => supervisor.crashed(name, info));
    };
    launch("fixture");
    return { lines, spawns: () => spawns, supervisor };
  }

  it("restarts a crashing child with growing pauses and gives up on the crash loop", async () => {
    const run = superviseScript("process.exit(3)");
    const deadline = Date.now() + 15_000;
    while (!run.lines.some((line) => line.includes("crash loop")) && Date.now() < deadline) {
      await delay(20);
    }
    expect(run.spawns()).toBe(4);
    expect(
      run.lines.flatMap((line) => line.match(/restarting it in ([\d.]+) s/)?.[1] ?? []),
    ).toEqual(["0.1", "0.2", "0.4"]);
    expect(run.lines[0]).toContain("fixture exited with code 3");
    expect(run.lines.at(-1)).toMatch(
      /fixture exited with code 3: 4 crashes within 60\.0 s, a crash loop; not restarting it/,
    );
    await delay(300);
    expect(run.spawns()).toBe(4); // no restart after giving up
  });

  it("brings back a child that crashed once, and reports it", async () => {
    const dir = await tempDir("supervisor");
    try {
      const marker = `${dir.path}/crashed-once`;
      // Crashes on its first run only (it leaves a marker), then stays up.
      const script = `const fs = require("node:fs");
        if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ""); process.exit(1); }
        setInterval(() => {}, 1000);`;
      const run = superviseScript(script);
      const deadline = Date.now() + 10_000;
      while (!run.lines.some((line) => line.includes("restarted")) && Date.now() < deadline) {
        await delay(20);
      }
      expect(run.spawns()).toBe(2);
      expect(run.lines).toEqual([
        expect.stringMatching(/^fixture exited with code 1; restarting it in 0\.1 s/),
        expect.stringMatching(/^fixture restarted, ready in \d+\.\d s$/),
      ]);
      run.supervisor.stop();
    } finally {
      await dir.remove();
    }
  });
});
