import { readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { isInfraError } from "../../src/infra/errors.js";
import { getFreePort } from "../../src/infra/ports.js";
import {
  describeExit,
  fileSink,
  type LogStream,
  prefixedSink,
  spawnManaged,
  waitForHttpOk,
  waitForProcessReady,
} from "../../src/infra/process.js";
import { isAlive, tempDir } from "../helpers.js";

/** A tiny node:http server that becomes ready after 300 ms and says goodbye on SIGTERM. */
const SERVER = `
const http = require("node:http");
console.log("starting");
console.error("warming up");
setTimeout(() => {
  http
    .createServer((req, res) => { res.statusCode = req.url === "/readyz" ? 200 : 404; res.end(); })
    .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on " + process.env.PORT));
}, 300);
process.on("SIGTERM", () => { console.log("bye"); process.exit(0); });
`;

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await delay(20);
  }
}

describe("spawnManaged", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir("process");
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("forwards each output line with its name and stream, waits for HTTP 200, and stops", async () => {
    const port = await getFreePort();
    const seen: [string, string, LogStream][] = [];
    const proc = spawnManaged({
      name: "web",
      command: process.execPath,
      args: ["-e", SERVER],
      env: { ...process.env, PORT: String(port) },
      log: (name, line, stream) => seen.push([name, line, stream]),
    });
    await waitForHttpOk(`http://127.0.0.1:${port}/readyz`, 10_000);
    await until(() => seen.length >= 3);
    expect(seen).toEqual(
      expect.arrayContaining([
        ["web", "starting", "stdout"],
        ["web", "warming up", "stderr"],
        ["web", `listening on ${port}`, "stdout"],
      ]),
    );
    expect(isAlive(proc.pid)).toBe(true);

    const info = await proc.stop();
    expect(info).toEqual({ code: 0, signal: null });
    expect(proc.exitInfo()).toEqual(info);
    expect(isAlive(proc.pid)).toBe(false);
    await until(() => seen.some(([, line]) => line === "bye"));
    expect(proc.tail()).toEqual(expect.arrayContaining(["starting", "warming up", "bye"]));
  });

  it("kills the whole process group, with SIGKILL when SIGTERM is ignored", async () => {
    const lines: string[] = [];
    const proc = spawnManaged({
      name: "stubborn",
      command: process.execPath,
      args: [
        "-e",
        `process.on("SIGTERM", () => {});
         const { spawn } = require("node:child_process");
         const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
         console.log(child.pid);
         setInterval(() => {}, 1000);`,
      ],
      log: (_name, line) => lines.push(line),
    });
    await until(() => lines.length > 0);
    const grandchild = Number(lines[0]);
    expect(isAlive(grandchild)).toBe(true);

    const info = await proc.stop(300);
    expect(info.signal).toBe("SIGKILL");
    expect(describeExit(info)).toBe("was killed by SIGKILL");
    await until(() => !isAlive(grandchild));
  });

  it("reports a process that exits before it is ready, with its last lines", async () => {
    const port = await getFreePort();
    const proc = spawnManaged({
      name: "crashy",
      command: process.execPath,
      args: ["-e", `console.error("config invalid: PORT"); process.exit(3);`],
    });
    const error = await waitForProcessReady(proc, `http://127.0.0.1:${port}/readyz`, 10_000).catch(
      (e: unknown) => e,
    );
    expect(isInfraError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^crashy exited with code 3 before it was ready/);
    expect((error as Error).message).toContain("config invalid: PORT");
  });

  it("resolves `exited` with the error when the command does not exist", async () => {
    const proc = spawnManaged({ name: "ghost", command: `${dir.path}/no-such-binary` });
    const info = await proc.exited;
    expect(info.error?.message).toMatch(/ENOENT/);
    expect(describeExit(info)).toMatch(/^could not be started \(spawn .* ENOENT\)$/);
    expect(await proc.stop()).toBe(info);
  });
});

describe("waitForHttpOk", () => {
  it("times out with the last connection error", async () => {
    const port = await getFreePort();
    const error = await waitForHttpOk(`http://127.0.0.1:${port}/`, 1_000).catch((e: unknown) => e);
    expect(isInfraError(error)).toBe(true);
    // Normally the refused connection; on a loaded machine the attempt's own timeout may fire first.
    expect((error as Error).message).toMatch(
      new RegExp(
        `^http://127\\.0\\.0\\.1:${port}/ did not answer 200 within 1000 ms \\(last: (ECONNREFUSED|.*timeout.*)\\)$`,
      ),
    );
  });
});

describe("log sinks", () => {
  it("prefixes each line with its padded name, one colour per name", () => {
    let out = "";
    const plain = prefixedSink({ write: (text) => (out += text), colors: false, width: 8 });
    plain("users", "hello", "stdout");
    expect(out).toBe("users    | hello\n");

    out = "";
    const coloured = prefixedSink({ write: (text) => (out += text), colors: true });
    coloured("users", "a", "stdout");
    coloured("gateway", "b", "stderr");
    coloured("users", "c", "stdout");
    const prefixes = out.split("\n").map((line) => line.split("users")[0]?.split("gateway")[0]);
    expect(prefixes[0]).toBe("\x1b[36m"); // cyan
    expect(prefixes[1]).toBe("\x1b[35m"); // magenta
    expect(prefixes[2]).toBe("\x1b[36m");
  });

  it("appends lines to a file", async () => {
    const dir = await tempDir("sink");
    try {
      const file = fileSink(`${dir.path}/system.log`);
      file.sink("users", "one", "stdout");
      file.sink("gateway", "two", "stderr");
      await file.close();
      expect(await readFile(`${dir.path}/system.log`, "utf8")).toBe("[users] one\n[gateway] two\n");
    } finally {
      await dir.remove();
    }
  });
});
