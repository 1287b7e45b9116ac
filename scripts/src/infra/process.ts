import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import pc from "picocolors";
import { InfraError } from "./errors.js";
import { reapOnExit } from "./reaper.js";

/** Which output stream of a child process a log line came from. */
export type LogStream = "stdout" | "stderr";

/** Receives every output line (without its newline) of every managed process, tagged by name. */
export type LogSink = (name: string, line: string, stream: LogStream) => void;

/** A {@link LogSink} that drops everything (the tail of each process is still kept for errors). */
export const silentSink: LogSink = () => {};

/** How a child process ended: exit code, or the signal that ended it, or the error spawning it. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all (e.g. ENOENT). */
  error?: Error;
}

/** What to run and where its output goes. */
export interface SpawnOptions {
  /** Short name used as log prefix and in error messages. */
  name: string;
  command: string;
  args?: readonly string[];
  cwd?: string;
  /** Full environment of the child (not merged with `process.env`). Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Where output lines go. Default: {@link silentSink}. */
  log?: LogSink;
  /** How many of the last output lines to keep for {@link ManagedProcess.tail}. Default 50. */
  tailLines?: number;
}

/** A running child process (leader of its own process group) that can be stopped cleanly. */
export interface ManagedProcess {
  readonly name: string;
  /** OS process id; `undefined` when spawning failed. */
  readonly pid: number | undefined;
  /** Resolves (never rejects) once the process has exited or failed to spawn. */
  readonly exited: Promise<ExitInfo>;
  /** How the process ended, or `undefined` while it runs. */
  exitInfo(): ExitInfo | undefined;
  /** The last output lines (stdout and stderr interleaved), oldest first. */
  tail(): string[];
  /**
   * Sends SIGTERM to the process group, then SIGKILL after `graceMs` (default 5000 ms) if it still
   * runs; resolves with how it ended. Idempotent; resolves at once if it has already exited.
   */
  stop(graceMs?: number): Promise<ExitInfo>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort when this Node process exits without stopping its children: kill their groups. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) signalGroup(child, "SIGKILL");
  });
}

/** Signals the child's whole process group (its own children too); ignores a group that is gone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === "win32") child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Spawns `command` as the leader of a new process group, piping each stdout/stderr line to
 * `options.log` and keeping the last lines for error messages. Never throws for a missing command:
 * `exited` then resolves with `error` set. The group is stopped when this process exits without
 * stopping it: SIGKILL from an `exit` handler, and (see `reaper.ts`) SIGTERM then SIGKILL from
 * the reaper even when this process is killed by SIGKILL.
 */
export function spawnManaged(options: SpawnOptions): ManagedProcess {
  const { name, log = silentSink, tailLines = 50 } = options;
  const lines: string[] = [];
  const remember = (line: string, stream: LogStream) => {
    lines.push(line);
    if (lines.length > tailLines) lines.shift();
    log(name, line, stream);
  };

  const child = spawn(options.command, options.args ?? [], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: process.platform !== "win32",
  });
  installExitHook();
  live.add(child);
  // Its group is stopped even when this process dies without running the exit hook (SIGKILL).
  const release =
    child.pid !== undefined && process.platform !== "win32"
      ? reapOnExit({ pid: child.pid })
      : () => {};

  for (const stream of ["stdout", "stderr"] as const) {
    const readable = child[stream];
    if (readable) createInterface({ input: readable }).on("line", (line) => remember(line, stream));
  }

  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    const finish = (result: ExitInfo) => {
      if (info) return;
      info = result;
      live.delete(child);
      release();
      resolve(result);
    };
    child.once("exit", (code, signal) => finish({ code, signal }));
    child.once("error", (error) => {
      if (child.pid === undefined) {
        remember(`failed to start ${options.command}: ${error.message}`, "stderr");
        finish({ code: null, signal: null, error });
      }
    });
  });

  return {
    name,
    pid: child.pid,
    exited,
    exitInfo: () => info,
    tail: () => [...lines],
    async stop(graceMs = 5000) {
      if (info) return info;
      signalGroup(child, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
      const result = await exited;
      clearTimeout(timer);
      signalGroup(child, "SIGKILL"); // stragglers left in the group after the leader exited
      return result;
    },
  };
}

/** Describes how a process ended, e.g. `exited with code 1` or `was killed by SIGKILL`. */
export function describeExit(info: ExitInfo): string {
  if (info.error) return `could not be started (${info.error.message})`;
  if (info.signal) return `was killed by ${info.signal}`;
  return `exited with code ${info.code}`;
}

/** Options of {@link prefixedSink}. */
export interface PrefixedSinkOptions {
  /** Where formatted text goes. Default: `process.stdout.write`. */
  write?: (text: string) => void;
  /** Whether to emit ANSI colours. Default: picocolors' detection (TTY, NO_COLOR, FORCE_COLOR). */
  colors?: boolean;
  /** Pad names to this many characters so the lines align. Default 0 (no padding). */
  width?: number;
}

/**
 * A {@link LogSink} writing `name | line` with one colour per process name (assigned in order of
 * first appearance), as `npm start` shows it.
 */
export function prefixedSink(options: PrefixedSinkOptions = {}): LogSink {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const c = pc.createColors(options.colors ?? pc.isColorSupported);
  const palette = [c.cyan, c.magenta, c.yellow, c.green, c.blue, c.red];
  const assigned = new Map<string, (text: string) => string>();
  return (name, line) => {
    let colour = assigned.get(name);
    if (!colour) {
      colour = palette[assigned.size % palette.length] ?? c.reset;
      assigned.set(name, colour);
    }
    write(`${colour(name.padEnd(options.width ?? 0))} ${c.dim("|")} ${line}\n`);
  };
}

/** A {@link LogSink} appending `[name] line` to a file, and how to flush and close it. */
export function fileSink(path: string): { sink: LogSink; close(): Promise<void> } {
  const out = createWriteStream(path, { flags: "a" });
  return {
    sink: (name, line) => {
      out.write(`[${name}] ${line}\n`);
    },
    close: () => new Promise<void>((resolve) => out.end(resolve)),
  };
}

/** Options of {@link waitForHttpOk}. */
export interface WaitForHttpOkOptions {
  /** Pause between attempts in ms. Default 100. */
  intervalMs?: number;
  /** Stops waiting early: the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls `GET url` until it answers 200, for at most `timeoutMs` (default 30 000 ms). Rejects with an
 * {@link InfraError} naming the last status or connection error on timeout, or with the abort reason
 * when `options.signal` fires.
 */
export async function waitForHttpOk(
  url: string,
  timeoutMs = 30_000,
  options: WaitForHttpOkOptions = {},
): Promise<void> {
  const { intervalMs = 100, signal } = options;
  const deadline = Date.now() + timeoutMs;
  let last = "no attempt";
  for (;;) {
    signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const attempt = AbortSignal.timeout(Math.min(remaining, 2000));
    try {
      const response = await fetch(url, {
        signal: signal ? AbortSignal.any([signal, attempt]) : attempt,
      });
      await response.body?.cancel();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      signal?.throwIfAborted();
      const cause = (error as { cause?: { code?: string } }).cause;
      last = cause?.code ?? (error as Error).message;
    }
    await delay(Math.max(0, Math.min(intervalMs, deadline - Date.now())), undefined, { signal });
  }
  throw new InfraError(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

/**
 * Waits until `url` answers 200 while `proc` keeps running. Rejects with an {@link InfraError} naming
 * the process, how it ended (or the timeout) and its last log lines; does not stop the process.
 * `signal` aborts the wait (rejecting with an AbortError).
 */
export async function waitForProcessReady(
  proc: ManagedProcess,
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const done = new AbortController();
  const stop = signal ? AbortSignal.any([signal, done.signal]) : done.signal;
  let failure: string | undefined;
  try {
    await Promise.race([
      waitForHttpOk(url, timeoutMs, { signal: stop }),
      proc.exited.then((info) => {
        throw new InfraError(`${proc.name} ${describeExit(info)} before it was ready`);
      }),
    ]);
  } catch (error) {
    signal?.throwIfAborted();
    if (!(error instanceof InfraError)) throw error;
    failure = proc.exitInfo()
      ? error.message
      : `${proc.name} did not become ready: ${error.message}`;
  } finally {
    done.abort();
  }
  if (failure !== undefined) {
    const tail = proc.tail().slice(-20);
    const log = tail.length > 0 ? tail.join("\n") : "(no output)";
    throw new InfraError(`${failure}. Its last log lines:\n${log}`);
  }
}
