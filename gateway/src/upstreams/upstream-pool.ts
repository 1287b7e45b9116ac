/**
 * The instances of one upstream service and their health: which one takes the next request
 * (round-robin over the instances not known to be down) and how check results and failed
 * connections move an instance between states. Pure bookkeeping, no I/O: the active checks
 * (health-checks.ts) and the proxy (proxy.ts) report to it.
 *
 * States: `unknown` until the first check passes (balanced to, optimistically), then `healthy`.
 * An unknown or healthy instance becomes `unhealthy` after `unhealthyAfter` consecutive failed
 * checks (one slow answer, e.g. while the gateway itself was busy, does not take it out), or at
 * once when a connection to it is refused or reset (passive check); an unhealthy one becomes
 * healthy again after `healthyAfter` consecutive passed checks.
 */

/** Health of one upstream instance. */
export type InstanceState = "unknown" | "healthy" | "unhealthy";

/** When an instance changes state (see the module comment). Both counts are at least 1. */
export interface HealthThresholds {
  /** Consecutive failed active checks that take a healthy instance out. */
  unhealthyAfter: number;
  /** Consecutive passed active checks that bring an unhealthy instance back. */
  healthyAfter: number;
}

/** One instance of an upstream service, as the pool sees it. */
export interface UpstreamInstance {
  readonly service: string;
  /** 1-based position in the service's `<SERVICE>_URL` list. */
  readonly ordinal: number;
  readonly url: URL;
  readonly state: InstanceState;
  /** Why the last check or connection failed, while it is not healthy. */
  readonly reason: string | undefined;
}

/** A state transition, reported to the pool's listener (for logs). */
export interface StateChange {
  instance: UpstreamInstance;
  from: InstanceState;
  to: InstanceState;
  /** `check`: an active health check; `connection`: a proxied request's connection failed. */
  cause: "check" | "connection";
}

class Instance implements UpstreamInstance {
  state: InstanceState = "unknown";
  reason: string | undefined;
  failures = 0;
  successes = 0;
  constructor(
    readonly service: string,
    readonly ordinal: number,
    readonly url: URL,
  ) {}
}

/** The instances of one service, their health, and the round-robin cursor. */
export class UpstreamPool {
  readonly #instances: Instance[];
  readonly #thresholds: HealthThresholds;
  readonly #onChange: (change: StateChange) => void;
  #next = 0;

  /**
   * @param urls base URL of each instance, in `<SERVICE>_URL` order (at least one).
   * @param onChange called after every state transition.
   * @throws RangeError for an empty list or a threshold below 1.
   */
  constructor(
    readonly service: string,
    urls: readonly URL[],
    thresholds: HealthThresholds,
    onChange: (change: StateChange) => void = () => {},
  ) {
    if (urls.length === 0) throw new RangeError(`${service}: an upstream needs an instance`);
    if (thresholds.unhealthyAfter < 1 || thresholds.healthyAfter < 1) {
      throw new RangeError(`${service}: health thresholds must be at least 1`);
    }
    this.#instances = urls.map((url, i) => new Instance(service, i + 1, url));
    this.#thresholds = thresholds;
    this.#onChange = onChange;
  }

  /** Every instance, in list order. */
  get instances(): readonly UpstreamInstance[] {
    return this.#instances;
  }

  /** Whether at least one instance passed its last check and is in the balancing. */
  hasHealthy(): boolean {
    return this.#instances.some((instance) => instance.state === "healthy");
  }

  /**
   * The instance for the next request: the next one in round-robin order that is not unhealthy
   * and not in `exclude` (instances already tried for this request).
   * @returns `undefined` when no instance qualifies.
   */
  pick(exclude: ReadonlySet<UpstreamInstance> = new Set()): UpstreamInstance | undefined {
    const count = this.#instances.length;
    for (let step = 0; step < count; step += 1) {
      const index = (this.#next + step) % count;
      const instance = this.#instances[index] as Instance;
      if (instance.state === "unhealthy" || exclude.has(instance)) continue;
      this.#next = (index + 1) % count;
      return instance;
    }
    return undefined;
  }

  /** Records the result of one active health check of `instance`. */
  recordCheck(instance: UpstreamInstance, result: { ok: true } | { ok: false; reason: string }) {
    const entry = this.#own(instance);
    if (result.ok) {
      entry.failures = 0;
      entry.successes += 1;
      if (
        entry.state === "unknown" ||
        (entry.state === "unhealthy" && entry.successes >= this.#thresholds.healthyAfter)
      ) {
        this.#transition(entry, "healthy", "check", undefined);
      }
      return;
    }
    entry.successes = 0;
    entry.failures += 1;
    if (entry.state !== "healthy") entry.reason = result.reason;
    if (entry.state !== "unhealthy" && entry.failures >= this.#thresholds.unhealthyAfter) {
      this.#transition(entry, "unhealthy", "check", result.reason);
    }
  }

  /** Takes `instance` out at once: a connection to it was refused or reset. */
  markDown(instance: UpstreamInstance, reason: string): void {
    const entry = this.#own(instance);
    entry.successes = 0;
    if (entry.state === "unhealthy") entry.reason = reason;
    else this.#transition(entry, "unhealthy", "connection", reason);
  }

  #own(instance: UpstreamInstance): Instance {
    const entry = this.#instances.find((candidate) => candidate === instance);
    if (!entry) throw new Error(`${instance.url.href} is not an instance of ${this.service}`);
    return entry;
  }

  #transition(
    entry: Instance,
    to: InstanceState,
    cause: StateChange["cause"],
    reason: string | undefined,
  ): void {
    const from = entry.state;
    entry.state = to;
    entry.reason = reason;
    if (from !== to) this.#onChange({ instance: entry, from, to, cause });
  }
}
