/** The machine a benchmark ran on, as the report states it. */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { promisify } from "node:util";

const run = promisify(execFile);

/** What the report says about the machine. */
export interface MachineInfo {
  cpuModel: string;
  /** `nproc`: processors available to this process. */
  processors: number;
  /** Total memory in bytes. */
  memoryBytes: number;
  node: string;
  os: string;
  /** 1-minute load average when the run began (other work on the machine skews the numbers). */
  loadAverage: number;
  date: string;
}

/** Reads the machine's description. */
export async function describeMachine(): Promise<MachineInfo> {
  let os = `${process.platform} ${process.arch}`;
  try {
    const release = await readFile("/etc/os-release", "utf8");
    os = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(release)?.[1] ?? os;
  } catch {
    // not Linux: keep platform and arch
  }
  let processors = availableParallelism();
  try {
    processors = Number((await run("nproc")).stdout.trim()) || processors;
  } catch {
    // no coreutils: Node's count
  }
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    processors,
    memoryBytes: totalmem(),
    node: process.version,
    os,
    loadAverage: loadavg()[0] ?? 0,
    date: new Date().toISOString(),
  };
}
