import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { claimPort, getFreePort, isPortFree } from "../../src/infra/ports.js";
import { repoRoot } from "../../src/paths.js";

/** The kernel's ephemeral port range: where `listen(0)` and outgoing connections get ports. */
function ephemeralRange(): [number, number] {
  const file = "/proc/sys/net/ipv4/ip_local_port_range";
  if (!existsSync(file)) return [49_152, 65_535]; // IANA's dynamic ports (macOS, Windows)
  const [low, high] = readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
  return [low as number, high as number];
}

/**
 * Runs a process that evaluates `call` (an expression over `claimPort` and `getFreePort`) and
 * keeps running until its stdin ends; `result` is what the call returned.
 */
async function inAnotherProcess(call: string): Promise<{ result: unknown; end(): Promise<void> }> {
  const ports = JSON.stringify(join(repoRoot, "scripts/src/infra/ports.ts"));
  const child = spawn(
    join(repoRoot, "node_modules", ".bin", "tsx"),
    [
      "-e",
      `import(${ports}).then(async ({ claimPort, getFreePort }) => {
         console.log(JSON.stringify(await ${call}));
         process.stdin.resume();
       });`,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (data) => resolve(String(data)));
    child.once("exit", (code) => reject(new Error(`the other process ended (${code})`)));
  });
  return {
    result: JSON.parse(line),
    end: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.stdin.end();
      }),
  };
}

describe("ports", () => {
  it("finds a free port, and tells a taken one apart", async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(1024);
    expect(await isPortFree(port)).toBe(true);

    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    try {
      expect(await isPortFree(port)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("hands out ports outside the ephemeral range, which no listen(0) of any process is given", async () => {
    const [low, high] = ephemeralRange();
    const ports = [];
    for (let i = 0; i < 20; i++) ports.push(await getFreePort());
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports.filter((port) => port >= low && port <= high)).toEqual([]);
  });

  it("never hands out a port a running process claimed, and takes over the claim once it ended", async () => {
    const mine = await getFreePort();
    expect(claimPort(mine)).toBe(false); // not twice to this process either
    const refused = await inAnotherProcess(`claimPort(${mine})`);
    await refused.end();
    expect(refused.result).toBe(false);

    const other = await inAnotherProcess("getFreePort()");
    const theirs = other.result as number;
    try {
      expect(claimPort(theirs)).toBe(false);
    } finally {
      await other.end();
    }
    expect(claimPort(theirs)).toBe(true);
  }, 30_000);
});
