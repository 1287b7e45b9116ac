/**
 * scheduleJob against the real NATS server at NATS_URL (jest's globalSetup): several schedulers of
 * one job in this process stand for several instances of a service. Service names carry a random
 * suffix, so their lock keys never meet another test's.
 */
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Kvm } from "@nats-io/kv";
import { pino } from "pino";
import {
  DEFAULT_JOB_LOCK_TTL_MS,
  JOB_LOCK_BUCKET,
  type JobTick,
  openJobLockBucket,
  type ScheduledJob,
  scheduleJob,
  tickStamp,
} from "../../src/jobs.js";
import { createLogger, type Logger } from "../../src/logger.js";
import { connectNats, type NatsConnection } from "../../src/nats.js";
import { waitFor } from "../support/wait.js";

const suffix = randomBytes(4).toString("hex");
const silent = createLogger("kit-test", "silent");

/** A debug-level logger that keeps every line it writes, parsed. */
function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: "debug" }, sink) as Logger, lines };
}

let nc: NatsConnection;
const jobs: ScheduledJob[] = [];

beforeAll(async () => {
  const url = process.env.NATS_URL;
  if (!url) throw new Error("NATS_URL is not set: run the tests through jest");
  nc = await connectNats(url, `kit-jobs-test-${suffix}`, silent);
});

afterAll(async () => {
  await Promise.all(jobs.map((job) => job.stop()));
  await nc?.drain();
});

describe("scheduleJob", () => {
  it("runs each per-second tick once across two schedulers of the same job", async () => {
    const service = `kitjobs-${suffix}`;
    const runs = new Map<string, string[]>();
    const captured = [capturingLogger(), capturingLogger()];
    const schedulers = await Promise.all(
      captured.map(({ log }, index) =>
        scheduleJob({
          service,
          name: "count",
          cron: "* * * * * *",
          nc,
          log,
          run: async (tick: JobTick) => {
            runs.set(tick.key, [...(runs.get(tick.key) ?? []), `scheduler-${index}`]);
            await delay(50);
          },
        }),
      ),
    );
    jobs.push(...schedulers);
    await waitFor("four ticks", () => runs.size >= 4, 8_000);
    await Promise.all(schedulers.map((s) => s.stop()));

    const keys = [...runs.keys()].sort();
    expect([...runs.values()].every((ranBy) => ranBy.length === 1)).toBe(true);
    for (const key of keys)
      expect(key).toMatch(new RegExp(`^${service}\\.count\\.\\d{8}T\\d{6}Z$`));
    // The scheduler that did not run a tick found it taken: both competed for the ticks (a tick
    // or two may have found one of them still starting or, under load, late).
    const taken = captured.map(({ lines }) =>
      lines.filter((l) => l.msg === "job tick taken by another instance").map((l) => l.tickKey),
    );
    const contested = keys.filter((key) => {
      const winner = Number((runs.get(key)?.[0] ?? "").split("-")[1]);
      return taken[1 - winner]?.includes(key);
    });
    expect(contested.length).toBeGreaterThanOrEqual(keys.length - 2);
    // The lock keys are in the bucket, one per run.
    const kv = await new Kvm(nc).open(JOB_LOCK_BUCKET);
    const stored: string[] = [];
    for await (const key of await kv.keys(`${service}.count.*`)) stored.push(key);
    expect(stored.sort()).toEqual(keys);
  }, 20_000);

  it("gives the run the scheduled second, not the instant the timer fired", async () => {
    const ticks: JobTick[] = [];
    const job = await scheduleJob({
      service: `kitjobs-at-${suffix}`,
      name: "at",
      cron: "* * * * * *",
      nc,
      log: silent,
      run: async (tick) => {
        ticks.push(tick);
      },
    });
    jobs.push(job);
    await waitFor("two ticks", () => ticks.length >= 2, 5_000);
    await job.stop();
    for (const tick of ticks) {
      expect(tick.at.getUTCMilliseconds()).toBe(0);
      expect(tick.key.endsWith(`.${tickStamp(tick.at)}`)).toBe(true);
    }
    const gap = (ticks[1]?.at.getTime() ?? 0) - (ticks[0]?.at.getTime() ?? 0);
    expect(gap > 0 && gap % 1_000 === 0).toBe(true); // whole seconds (1 unless a timer ran late)
  }, 10_000);

  it("logs a failing run and keeps scheduling", async () => {
    const { log, lines } = capturingLogger();
    let attempts = 0;
    const job = await scheduleJob({
      service: `kitjobs-fail-${suffix}`,
      name: "boom",
      cron: "* * * * * *",
      nc,
      log,
      run: async () => {
        attempts += 1;
        throw new Error(`boom ${attempts}`);
      },
    });
    jobs.push(job);
    await waitFor("three failing runs", () => attempts >= 3, 6_000);
    await job.stop();
    const failures = lines.filter((l) => l.msg === "job run failed");
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures[0]).toMatchObject({ err: { message: "boom 1" } });
  }, 10_000);

  it("never overlaps two runs of one scheduler, and stop waits for the run in flight", async () => {
    let running = 0;
    let overlapped = false;
    let finished = 0;
    const job = await scheduleJob({
      service: `kitjobs-slow-${suffix}`,
      name: "slow",
      cron: "* * * * * *",
      nc,
      log: silent,
      run: async () => {
        running += 1;
        if (running > 1) overlapped = true;
        await delay(1_600);
        running -= 1;
        finished += 1;
      },
    });
    jobs.push(job);
    await waitFor("a run to start", () => running === 1, 3_000);
    await delay(1_200); // at least one tick fires while the run is still going
    await job.stop();
    expect(overlapped).toBe(false);
    expect(running).toBe(0);
    expect(finished).toBeGreaterThanOrEqual(1);
  }, 10_000);

  it("rejects names that are not one key token and invalid patterns", async () => {
    const base = { service: "svc", name: "job", cron: "* * * * *", nc, log: silent };
    const run = async () => undefined;
    await expect(scheduleJob({ ...base, service: "a.b", run })).rejects.toThrow(/service "a.b"/);
    await expect(scheduleJob({ ...base, name: "x y", run })).rejects.toThrow(/name "x y"/);
    await expect(scheduleJob({ ...base, cron: "nope", run })).rejects.toThrow(/svc\.job/);
  });
});

describe("openJobLockBucket", () => {
  it("keeps keys at least as long as the longest lock asked for", async () => {
    const longer = DEFAULT_JOB_LOCK_TTL_MS + 1_000;
    await openJobLockBucket(nc, 1_000);
    const kv = await openJobLockBucket(nc, longer);
    expect((await kv.status()).ttl).toBeGreaterThanOrEqual(longer);
    const again = await openJobLockBucket(nc, 1_000); // never shortened
    expect((await again.status()).ttl).toBeGreaterThanOrEqual(longer);
  });
});
