import { fileURLToPath } from "node:url";
import { describe, expect, it } from "@jest/globals";
import { type ExitInfo, spawnManaged } from "../../src/infra/process.js";

const CHILD = fileURLToPath(new URL("../fixtures/shutdown-child.ts", import.meta.url));

/** Runs the fixture, sends `signal` once it is ready, and returns its output and exit. */
async function signalChild(
  signal: NodeJS.Signals,
  env: Record<string, string> = {},
  times = 1,
): Promise<{ lines: string[]; info: ExitInfo }> {
  const lines: string[] = [];
  const proc = spawnManaged({
    name: "child",
    command: process.execPath,
    args: ["--import", "tsx", CHILD],
    env: { ...process.env, ...env },
    log: (_name, line) => {
      lines.push(line);
      if (line === "ready" && proc.pid) {
        for (let i = 0; i < times; i++) process.kill(proc.pid, signal);
      }
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit: ${lines.join(" / ")}`)), 20_000);
  });
  const info = await Promise.race([proc.exited, timeout]).finally(() => {
    clearTimeout(timer);
    return proc.stop(100);
  });
  return { lines, info };
}

describe("onShutdownSignal", () => {
  it("runs the cleanup once and exits with 128 + the signal number", async () => {
    const { lines, info } = await signalChild("SIGINT");
    expect(lines).toEqual(["ready", "cleanup SIGINT", "cleaned"]);
    expect(info).toEqual({ code: 130, signal: null });
  });

  it("treats one Ctrl-C relayed several times (terminal, npm, tsx) as one request", async () => {
    const { lines, info } = await signalChild("SIGINT", { EXIT_CODE: "0" }, 3);
    expect(lines).toEqual(["ready", "cleanup SIGINT", "cleaned"]);
    expect(info.code).toBe(0);
  });

  it("exits with the code the cleanup returns", async () => {
    const { lines, info } = await signalChild("SIGTERM", { EXIT_CODE: "0" });
    expect(lines).toEqual(["ready", "cleanup SIGTERM", "cleaned"]);
    expect(info.code).toBe(0);
  });
});
