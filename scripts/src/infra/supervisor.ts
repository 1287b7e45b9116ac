/**
 * Restarts processes that crash, with exponential back-off, and gives up on a crash loop — what
 * docker compose's `restart: on-failure` and Kubernetes' CrashLoopBackOff do for containers.
 *
 * {@link CrashHistory} is the policy (pure: times in, decisions out); {@link Supervisor} applies it
 * to named processes through a `restart` callback, one restart at a time per process.
 */
import { describeExit, type ExitInfo } from "./process.js";

/** When to restart a crashed process, and when to stop trying. */
export interface RestartPolicy {
  /** Pause before the first restart, in ms; doubled for each further crash in the window. */
  initialDelayMs: number;
  /** Longest pause between restarts, in ms. */
  maxDelayMs: number;
  /** This many crashes within {@link RestartPolicy.crashLoopWindowMs} is a crash loop: no restart. */
  crashLoopCrashes: number;
  /** The window, in ms, over which crashes are counted. */
  crashLoopWindowMs: number;
}

/** 0.5 s doubling to 10 s; 5 crashes within 60 s is a crash loop. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  crashLoopCrashes: 5,
  crashLoopWindowMs: 60_000,
};

/** What to do about a crash: restart after `delayMs`, or give up (a crash loop). */
export type RestartDecision =
  | { action: "restart"; delayMs: number; crashes: number }
  | { action: "give-up"; crashes: number };

/** The crashes of one process within the policy's window, and what each one calls for. */
export class CrashHistory {
  private crashes: number[] = [];

  constructor(private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  /**
   * Records a crash at `now` (ms, any monotonic clock) and decides: the n-th crash within the
   * window waits `initialDelayMs × 2^(n-1)`, at most `maxDelayMs`; the `crashLoopCrashes`-th gives up.
   */
  record(now: number): RestartDecision {
    const { crashLoopWindowMs, crashLoopCrashes, initialDelayMs, maxDelayMs } = this.policy;
    this.crashes = [...this.crashes.filter((at) => now - at < crashLoopWindowMs), now];
    const crashes = this.crashes.length;
    if (crashes >= crashLoopCrashes) return { action: "give-up", crashes };
    return {
      action: "restart",
      delayMs: Math.min(initialDelayMs * 2 ** (crashes - 1), maxDelayMs),
      crashes,
    };
  }

  /** Forgets every crash (the process was restarted on purpose, e.g. its code changed). */
  reset(): void {
    this.crashes = [];
  }
}

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /**
   * Starts the named process again and resolves once it is ready; rejects when it is not (an
   * exit before readiness is also reported to {@link Supervisor.crashed} by whoever watches exits).
   */
  restart(name: string): Promise<void>;
  /** Receives one line per event (crash, restart, giving up). */
  report(line: string): void;
  policy?: RestartPolicy;
  /** Clock in ms. Default `performance.now`. */
  now?: () => number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Applies a {@link RestartPolicy} to named processes. */
export class Supervisor {
  private readonly histories = new Map<string, CrashHistory>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: SupervisorOptions) {}

  private history(name: string): CrashHistory {
    let history = this.histories.get(name);
    if (!history) {
      history = new CrashHistory(this.options.policy);
      this.histories.set(name, history);
    }
    return history;
  }

  /**
   * Reports that `name` exited on its own, and schedules its restart, or says it gives up on a
   * crash loop. Ignored after {@link Supervisor.stop}.
   */
  crashed(name: string, info: ExitInfo): void {
    if (this.stopped) return;
    const now = (this.options.now ?? (() => performance.now()))();
    const decision = this.history(name).record(now);
    const how = describeExit(info);
    const policy = this.options.policy ?? DEFAULT_RESTART_POLICY;
    if (decision.action === "give-up") {
      this.options.report(
        `${name} ${how}: ${decision.crashes} crashes within ${seconds(policy.crashLoopWindowMs)}, a crash loop; not restarting it (save a file it uses to try again)`,
      );
      return;
    }
    this.options.report(
      `${name} ${how}; restarting it in ${seconds(decision.delayMs)} (crash ${decision.crashes} within ${seconds(policy.crashLoopWindowMs)}; at ${policy.crashLoopCrashes} it stays down)`,
    );
    clearTimeout(this.timers.get(name));
    const timer = setTimeout(() => {
      this.timers.delete(name);
      if (this.stopped) return;
      const begin = performance.now();
      this.options.restart(name).then(
        () =>
          this.options.report(`${name} restarted, ready in ${seconds(performance.now() - begin)}`),
        (error: unknown) =>
          this.options.report(
            `${name} did not come back: ${String((error as Error).message ?? error).split("\n")[0]}`,
          ),
      );
    }, decision.delayMs);
    this.timers.set(name, timer);
  }

  /**
   * Forgets the crashes of `name` and cancels its pending restart: it is being restarted on purpose.
   */
  forget(name: string): void {
    clearTimeout(this.timers.get(name));
    this.timers.delete(name);
    this.histories.get(name)?.reset();
  }

  /** Cancels every pending restart; later crashes are ignored. Idempotent. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
