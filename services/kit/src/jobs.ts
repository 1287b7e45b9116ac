/**
 * Scheduled jobs (croner) that run each tick exactly once across every instance of a service.
 *
 * Every instance schedules the same cron pattern. When a tick fires, each instance tries to create
 * the key `<service>.<job>.<tick>` in the NATS KV bucket {@link JOB_LOCK_BUCKET}; KV `create`
 * succeeds only when the key does not exist, so exactly one instance wins and runs the tick and the
 * others skip it. `<tick>` is the tick's scheduled time (not the instant the timer fired), so all
 * instances compute the same key.
 *
 * Why NATS KV and not a database lock: services share no database (each owns its own), and
 * NATS is the one piece of infrastructure every instance of every service already talks to.
 *
 * Keys expire through the bucket's `max_age` (nats-server 2.9 has no per-key TTL): a key must live
 * longer than the clock skew and timer delay between instances, so that a late instance still
 * finds it. The guarantee is "at most once per tick": an instance that wins a tick and crashes
 * loses that tick, so jobs should be idempotent and catch up on the next tick.
 */
import { hostname } from "node:os";
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { Cron } from "croner";
import type { Logger } from "./logger.js";
import { streamReplicasFromEnv } from "./nats.js";

/** The KV bucket holding one key per claimed tick (created if missing). */
export const JOB_LOCK_BUCKET = "portico_job_locks";

/** Default {@link ScheduleJobOptions.lockTtlMs}: 5 minutes. */
export const DEFAULT_JOB_LOCK_TTL_MS = 5 * 60_000;

/** Service and job names become one token of a KV key. */
const NAME = /^[A-Za-z0-9_-]+$/;

/** One tick, as given to the job. */
export interface JobTick {
  /** The scheduled time of the tick (whole second), the same on every instance. */
  at: Date;
  /** The lock key claimed for it: `<service>.<job>.<YYYYMMDDTHHmmssZ>`. */
  key: string;
  /** The job's logger, bound to the job name and tick key. */
  log: Logger;
}

/** Options of {@link scheduleJob}. */
export interface ScheduleJobOptions {
  /** The service the job belongs to (`[A-Za-z0-9_-]+`), e.g. `notifications`. */
  service: string;
  /** The job's name, unique within the service (`[A-Za-z0-9_-]+`), e.g. `daily-digest`. */
  name: string;
  /** Cron pattern: 5 fields, or 6 with seconds first (croner syntax), e.g. `0 8 * * *`. */
  cron: string;
  /** IANA time zone the pattern is read in. Default `UTC`, so every instance agrees. */
  timezone?: string;
  nc: NatsConnection;
  log: Logger;
  /** The work of one tick. A rejection is logged, never thrown; the schedule goes on. */
  run: (tick: JobTick) => Promise<void>;
  /**
   * How long a tick's lock key is kept, in ms (default {@link DEFAULT_JOB_LOCK_TTL_MS}); it must
   * exceed the clock skew and timer delay between instances. The bucket's `max_age` is raised to
   * the longest one asked for.
   */
  lockTtlMs?: number;
}

/** A scheduled job. */
export interface ScheduledJob {
  /** Stops scheduling and waits for the run in flight, if any. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Why `pattern` (croner syntax, 5 or 6 fields) or `timezone` (IANA name) is invalid, or undefined
 * when both are valid. For configuration validation.
 */
export function cronError(pattern: string, timezone = "UTC"): string | undefined {
  try {
    new Cron(pattern, { timezone, paused: true }).stop();
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** `2024-05-01T08:00:00.000Z` → `20240501T080000Z` (ISO 8601 basic format; valid in a KV key). */
export function tickStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
}

/**
 * Opens the job lock bucket, creating it with `max_age` = `ttlMs` when missing, and raising its
 * `max_age` when it is shorter than `ttlMs`.
 * @throws Error when JetStream does not answer.
 */
export async function openJobLockBucket(nc: NatsConnection, ttlMs: number): Promise<KV> {
  const kvm = new Kvm(nc);
  // Replicated like the streams, so losing one node of a NATS cluster does not lose the locks.
  const options = { ttl: ttlMs, history: 1, replicas: streamReplicasFromEnv() };
  // A second attempt binds the bucket another instance created between our lookup and our add.
  const kv = await kvm
    .create(JOB_LOCK_BUCKET, options)
    .catch(() => kvm.create(JOB_LOCK_BUCKET, options));
  const status = await kv.status();
  if (status.ttl < ttlMs) {
    const jsm = await jetstreamManager(nc);
    const { config } = status.streamInfo;
    await jsm.streams.update(config.name, { ...config, max_age: ttlMs * 1_000_000 });
  }
  return kv;
}

/** True when `err` is KV `create` refusing because the key already exists. */
function isKeyTaken(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * Schedules `run` on `cron`, once per tick across every instance of `service` (see the module
 * comment). Runs of the same job never overlap within one process: a tick that fires while the
 * previous run is still going is skipped by this instance (another instance may take it).
 * Each run is logged at info (`job run started` / `job run finished` / `job run failed`, with
 * `job` and `tickKey`); a tick another instance claimed is logged at debug (`job tick taken`).
 * @throws Error when `service` or `name` is not a single key token, the pattern or time zone is
 *   invalid (croner's message), or the lock bucket cannot be opened.
 */
export async function scheduleJob(options: ScheduleJobOptions): Promise<ScheduledJob> {
  const { service, name, nc, run } = options;
  for (const [what, value] of [
    ["service", service],
    ["name", name],
  ] as const) {
    if (!NAME.test(value)) throw new Error(`scheduleJob: ${what} "${value}" must match ${NAME}`);
  }
  const timezone = options.timezone ?? "UTC";
  const invalid = cronError(options.cron, timezone);
  if (invalid) throw new Error(`scheduleJob ${service}.${name}: ${invalid}`);

  const kv = await openJobLockBucket(nc, options.lockTtlMs ?? DEFAULT_JOB_LOCK_TTL_MS);
  const instance = `${hostname()}:${process.pid}`;
  const log = options.log.child({ job: name });
  let inFlight: Promise<void> | undefined;

  async function tick(cron: Cron): Promise<void> {
    // The scheduled time: the latest match at or before now (the timer fires at or after it).
    const at = cron.previousRuns(1, new Date(Date.now() + 1))[0];
    if (!at) return;
    const key = `${service}.${name}.${tickStamp(at)}`;
    const tickLog = log.child({ tickKey: key });
    try {
      await kv.create(key, JSON.stringify({ instance, claimedAt: new Date().toISOString() }));
    } catch (err) {
      if (isKeyTaken(err)) tickLog.debug("job tick taken by another instance");
      else tickLog.error({ err }, "job lock unavailable; tick skipped");
      return;
    }
    const started = Date.now();
    tickLog.info({ instance }, "job run started");
    try {
      await run({ at, key, log: tickLog });
      tickLog.info({ durationMs: Date.now() - started }, "job run finished");
    } catch (err) {
      tickLog.error({ err, durationMs: Date.now() - started }, "job run failed");
    }
  }

  const cron = new Cron(options.cron, {
    timezone,
    protect: () => log.warn("previous run still in progress; tick skipped by this instance"),
  });
  cron.schedule((self: Cron) => {
    inFlight = tick(self).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  });
  log.info({ cron: options.cron, timezone, next: cron.nextRun()?.toISOString() }, "job scheduled");

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        cron.stop();
        await inFlight;
      })();
      return stopping;
    },
  };
}
