/**
 * The last line of defence against orphaned child processes: however this Node process ends —
 * including SIGKILL, which runs no handler (e.g. tsx's CLI kills its child when that child does not
 * acknowledge a relayed Ctrl-C within 60 ms, as a busy event loop cannot) — what it registered here
 * is stopped.
 *
 * Node has no `prctl(PR_SET_PDEATHSIG)`, so a tiny `sh` process (the reaper) stands in for it: it
 * runs in its own session (so the Ctrl-C of this process's group, or a closing terminal, never
 * reaches it), reads `add`/`del` lines naming targets on its stdin, and when its stdin reaches
 * end-of-file — the kernel closes the pipe when this process exits, however it exits — signals each
 * target still listed, waits up to a grace period until they are gone, then SIGKILLs what is left.
 * A target is a process group (`-pgid`, as `kill` takes it) or a single process (`pid`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";

/** Tenths of a second the reaper waits for its targets before SIGKILL. */
const GRACE_TENTHS = 50;

/**
 * The reaper. Lines: `add SIG/target` and `del SIG/target` (`TERM/-1234`: SIGTERM to process group
 * 1234). At end-of-file: `kill -SIG target` for each, `kill -0` until none is left (at most $1
 * tenths of a second), then `kill -KILL`. Written for dash as well as bash (`kill -0 -pgid`, no `--`).
 */
const SCRIPT = `
trap '' INT HUP
targets=' '
while read -r op token; do
  case $op in
    add) targets="$targets$token " ;;
    del) case $targets in *" $token "*) targets="\${targets%% $token *} \${targets#* $token }" ;; esac ;;
  esac
done
[ "$targets" = ' ' ] && exit 0
for t in $targets; do kill -"\${t%%/*}" "\${t#*/}" 2>/dev/null; done
i=0
while [ "$i" -lt "$1" ]; do
  alive=
  for t in $targets; do kill -0 "\${t#*/}" 2>/dev/null && alive=1; done
  [ -z "$alive" ] && exit 0
  sleep 0.1
  i=$((i + 1))
done
for t in $targets; do kill -KILL "\${t#*/}" 2>/dev/null; done
`;

let reaper: ChildProcess | undefined | null;

/** The reaper of this process, started on first use; `null` where there is none (Windows, no sh). */
function reaperProcess(): ChildProcess | null {
  if (reaper !== undefined) return reaper;
  if (process.platform === "win32") {
    reaper = null;
    return reaper;
  }
  const child = spawn("/bin/sh", ["-c", SCRIPT, "portico-reaper", String(GRACE_TENTHS)], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  child.on("error", () => {
    reaper = null;
  });
  child.stdin?.on("error", () => {}); // the reaper is gone: nothing left to tell it
  // Neither keeps this process alive; the pipe stays open until this process exits.
  child.unref();
  (child.stdin as Socket | null)?.unref();
  reaper = child;
  return child;
}

/** What {@link reapOnExit} stops, and how. */
export interface ReapTarget {
  pid: number;
  /** The whole process group led by `pid` (spawned `detached`), else the one process. Default true. */
  group?: boolean;
  /** The signal it is stopped with (then SIGKILL after 5 s). Default SIGTERM. */
  signal?: "SIGTERM" | "SIGINT";
}

/**
 * Makes sure `target` is stopped when this process exits, however it exits (see the module
 * comment). Returns the function that releases it again — call it once the target has exited, so
 * its recycled pid is never signalled. A no-op where no reaper can run (Windows).
 */
export function reapOnExit(target: ReapTarget): () => void {
  const child = reaperProcess();
  if (!child?.stdin) return () => {};
  const signal = (target.signal ?? "SIGTERM").replace(/^SIG/, "");
  const token = `${signal}/${target.group === false ? "" : "-"}${target.pid}`;
  child.stdin.write(`add ${token}\n`);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    child.stdin?.write(`del ${token}\n`);
  };
}
