/**
 * Resident memory of the benchmarked processes, read from Linux's `/proc/<pid>/status` (`VmRSS`),
 * and the process listening on a port (`ss`, from iproute2), since the system's processes are
 * started by `startSystem`, which does not hand out their pids.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Resident set size of `pid` in bytes, or `undefined` when the process is gone. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** The pid of the process listening on TCP `port` on this machine, if `ss` can tell. */
export async function pidListeningOn(port: number): Promise<number | undefined> {
  try {
    const { stdout } = await run("ss", ["-ltnpH", `sport = :${port}`]);
    const pid = /pid=(\d+)/.exec(stdout)?.[1];
    return pid === undefined ? undefined : Number(pid);
  } catch {
    return undefined;
  }
}

/** Peak resident memory per named process while something runs; see {@link sampleResident}. */
export interface ResidentSampler {
  /** Stops sampling; resolves to the largest `VmRSS` seen per name, in bytes. */
  stop(): Promise<Record<string, number>>;
}

/**
 * Samples `VmRSS` of each named pid every `intervalMs` (default 250) until stopped, keeping the
 * maximum per name (under load, memory rises and falls with garbage collection: the peak is what
 * a memory limit must allow).
 */
export function sampleResident(
  pids: Readonly<Record<string, number>>,
  intervalMs = 250,
): ResidentSampler {
  const peaks: Record<string, number> = {};
  const sample = async () => {
    for (const [name, pid] of Object.entries(pids)) {
      const bytes = await residentBytes(pid);
      if (bytes !== undefined) peaks[name] = Math.max(peaks[name] ?? 0, bytes);
    }
  };
  let pending = sample();
  const timer = setInterval(() => {
    pending = pending.then(sample);
  }, intervalMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await pending.then(sample);
      return peaks;
    },
  };
}

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) used so far by every process of process group `pgid` (a server and,
 * for nginx, its workers), in milliseconds, from `/proc/<pid>/stat` (fields 14-15, utime and
 * stime, in clock ticks). Processes that already exited are not counted.
 */
export async function groupCpuMilliseconds(pgid: number): Promise<number> {
  let ticks = 0;
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Fields after the command name (which may contain spaces) in parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue; // field 5: process group
    ticks += Number(fields[11]) + Number(fields[12]); // fields 14 and 15
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}
