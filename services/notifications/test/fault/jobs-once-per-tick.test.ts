/**
 * Fault scenario g-jobs: two notifications processes (separate OS processes, same database, same
 * NATS) schedule the daily digest every second. Each tick must run exactly once across both, and
 * each user must get exactly one digest email per day.
 *
 * Both processes log each tick they run (`job run started`) and, at debug, each tick they found
 * claimed by the other (`job tick taken by another instance`); the test reads those lines from
 * their stdout, and cross-checks the runs with the lock keys left in NATS KV. The infrastructure
 * is the test's own: a nats-server (startNats), an SMTP sink, a JWKS server, and a fresh database
 * on jest's PostgreSQL.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { JOB_LOCK_BUCKET } from "@portico/kit";
import { createTestIssuer } from "@portico/kit/testing";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { getFreePort } from "@portico/scripts/infra/ports";
import {
  type ManagedProcess,
  spawnManaged,
  waitForProcessReady,
} from "@portico/scripts/infra/process";
import { type SmtpSink, startSmtpSink } from "@portico/scripts/infra/smtp";
import { repoRoot } from "@portico/scripts/paths";
import { recordScenario } from "@portico/scripts/reliability/record";
import { listMessages } from "@portico/scripts/testing/mail";
import { sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { DAILY_DIGEST_JOB } from "../../src/jobs/daily-digest.js";
import { JOBS_SERVICE } from "../../src/jobs/index.js";
import { recordBackInStock } from "../../src/store/notifications.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { waitFor } from "../support/wait.js";

/** Ticks the scenario waits for (each second), once both processes are ready. */
const TICKS = 5;
const INSTANCES = ["notifications-1", "notifications-2"] as const;

/** What one process said about one tick of the digest job. */
interface TickLine {
  instance: string;
  tickKey: string;
  ran: boolean;
}

const lines: TickLine[] = [];
let workDir: string;
let nats: NatsServer;
let smtp: SmtpSink;
let jwks: Server;
let database: TestDatabase;
const processes: ManagedProcess[] = [];

/** Keeps the digest job's tick lines of a process's stdout (pino JSON). */
function collect(instance: string, line: string): void {
  if (!line.startsWith("{")) return;
  let entry: { msg?: string; job?: string; tickKey?: string };
  try {
    entry = JSON.parse(line);
  } catch {
    return;
  }
  if (entry.job !== DAILY_DIGEST_JOB || !entry.tickKey) return;
  if (entry.msg === "job run started") lines.push({ instance, tickKey: entry.tickKey, ran: true });
  if (entry.msg === "job tick taken by another instance") {
    lines.push({ instance, tickKey: entry.tickKey, ran: false });
  }
}

/** Serves the test issuer's JWK Set; resolves with its URL. */
async function serveJwks(): Promise<string> {
  const { jwks: keys } = await createTestIssuer();
  jwks = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(keys));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
}

/** Starts one notifications process; resolves once /readyz answers 200. */
async function startInstance(name: string, jwksUrl: string): Promise<void> {
  const port = await getFreePort();
  const { NODE_OPTIONS: _jestOnly, ...env } = process.env;
  const proc = spawnManaged({
    name,
    command: process.execPath,
    args: ["--import", "tsx", "--conditions=portico-source", "services/notifications/src/main.ts"],
    cwd: repoRoot,
    env: {
      ...env,
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "debug",
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      JWKS_URL: jwksUrl,
      SMTP_URL: smtp.smtpUrl,
      DIGEST_CRON: "* * * * * *",
      DIGEST_TIMEZONE: "UTC",
    },
    log: (processName, line) => collect(processName, line),
    tailLines: 200,
  });
  processes.push(proc);
  await waitForProcessReady(proc, `http://127.0.0.1:${port}/readyz`, 45_000);
}

/** Users: three with unread notifications (one of them two), one who read everything. */
const users = {
  ann: { id: randomUUID(), email: "ann@example.com", unread: 2 },
  ben: { id: randomUUID(), email: "ben@example.com", unread: 1 },
  cat: { id: randomUUID(), email: "cat@example.com", unread: 1 },
  dan: { id: randomUUID(), email: "dan@example.com", unread: 0 },
};

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "portico-g-jobs-"));
  nats = await startNats({ storeDir: join(workDir, "nats") });
  smtp = await startSmtpSink();
  database = await createTestDatabase("notifications_fault_jobs");
  for (const user of Object.values(users)) {
    for (let i = 0; i < Math.max(1, user.unread); i += 1) {
      await recordBackInStock(database.db, {
        userId: user.id,
        productId: uuidv7(),
        eventId: uuidv7(),
        title: `Product ${i} is back in stock`,
        body: `Product ${i} is back in stock (1 available).`,
        email: { to: user.email, subject: `Product ${i} is back in stock`, text: "1 available" },
      });
    }
  }
  await database.db
    .updateTable("notifications")
    .set({ read_at: new Date() })
    .where("user_id", "=", users.dan.id)
    .execute();
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(10_000)));
  await new Promise<void>((resolve) => (jwks ? jwks.close(() => resolve()) : resolve()));
  await smtp?.stop();
  await nats?.stop();
  await database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 30_000);

describe("g-jobs: a scheduled job fires once per tick across two instances", () => {
  it("runs each digest tick exactly once and sends each user one digest per day", async () => {
    const jwksUrl = await serveJwks();
    await Promise.all(INSTANCES.map((name) => startInstance(name, jwksUrl)));
    const readyAt = Date.now();

    // Wait for TICKS ticks after both were up that are settled (over a second old, so both
    // processes have said what they did about them); ticks after the cutoff are not counted.
    let cutoff = 0;
    await waitFor(
      `${TICKS} settled digest ticks`,
      () => {
        cutoff = Date.now() - 1_000;
        const ran = lines.filter((l) => l.ran && tickTime(l.tickKey) >= readyAt);
        return (
          new Set(ran.filter((l) => tickTime(l.tickKey) <= cutoff).map((l) => l.tickKey)).size >=
          TICKS
        );
      },
      30_000,
    );
    const digestSubjects = /^You have \d+ unread notifications?$/;
    await waitFor(
      "the digests to be delivered",
      async () =>
        (await listMessages(smtp.apiUrl, 500)).messages.filter((m) =>
          digestSubjects.test(m.Subject),
        ).length >= 3,
      15_000,
    );
    const exits = await Promise.all(processes.map((p) => p.stop(10_000)));
    await delay(250); // the last stdout lines may still be in the pipe after exit

    // Ticks seen by either process up to the cutoff, and the runs of each.
    const considered = lines.filter((l) => tickTime(l.tickKey) <= cutoff);
    const ticks = new Set(considered.map((l) => l.tickKey));
    const runsPerTick = new Map<string, string[]>([...ticks].map((t) => [t, []]));
    for (const l of considered) if (l.ran) runsPerTick.get(l.tickKey)?.push(l.instance);
    const runs = [...runsPerTick.values()].reduce((n, by) => n + by.length, 0);
    const lost = [...runsPerTick.values()].filter((by) => by.length === 0).length;
    const duplicated = [...runsPerTick.values()].reduce(
      (n, by) => n + Math.max(0, by.length - 1),
      0,
    );
    const runsBy = Object.fromEntries(
      INSTANCES.map((name) => [
        name,
        considered.filter((l) => l.ran && l.instance === name).length,
      ]),
    );
    const contested = [...ticks].filter(
      (t) => new Set(considered.filter((l) => l.tickKey === t).map((l) => l.instance)).size === 2,
    ).length;

    // Digests: one per (user, day) in the database, each delivered once.
    const digests = await database.db
      .selectFrom("digests")
      .select(["user_id", sql<string>`digest_day::text`.as("day")])
      .execute();
    const mail = (await listMessages(smtp.apiUrl, 500)).messages.filter((m) =>
      digestSubjects.test(m.Subject),
    );
    const mailTo = (email: string) =>
      mail.filter((m) => m.To.some((to) => to.Address === email)).length;
    const digestsOf = (id: string) => digests.filter((d) => d.user_id === id).length;

    await recordScenario({
      id: "g-jobs",
      scenario:
        "Two notifications processes schedule the daily digest every second: each tick runs once",
      sent: ticks.size,
      effects: runs,
      lost,
      duplicated,
      notes:
        `2 processes, DIGEST_CRON="* * * * * *", ${ticks.size} ticks (${contested} seen by both), ` +
        `runs by process ${JSON.stringify(runsBy)}; 3 users with unread notifications: ` +
        `${digests.length} digests, ${mail.length} digest emails`,
    });

    expect(exits.map((e) => e.code)).toEqual([0, 0]); // graceful: jobs stopped, then the pool
    expect(ticks.size).toBeGreaterThanOrEqual(TICKS);
    expect(duplicated).toBe(0);
    expect(lost).toBe(0);
    expect(contested).toBeGreaterThanOrEqual(TICKS - 2); // both really competed
    // Every run left its lock key in NATS KV, and no key lacks a run.
    const keys = await lockKeys();
    const ranTicks = considered.filter((l) => l.ran).map((l) => l.tickKey);
    expect(ranTicks.every((t) => keys.has(t))).toBe(true);
    expect([...keys].filter((k) => tickTime(k) <= cutoff).every((k) => ranTicks.includes(k))).toBe(
      true,
    );

    for (const user of [users.ann, users.ben, users.cat]) {
      expect(digestsOf(user.id)).toBeGreaterThanOrEqual(1); // 2 only if the run crossed midnight
      expect(mailTo(user.email)).toBe(digestsOf(user.id));
    }
    expect(new Set(digests.map((d) => `${d.user_id}/${d.day}`)).size).toBe(digests.length);
    expect(digestsOf(users.dan.id)).toBe(0);
    expect(mailTo(users.dan.email)).toBe(0);
  }, 120_000);
});

/** `notifications.daily-digest.20240501T080000Z` → its time in ms. */
function tickTime(tickKey: string): number {
  const stamp = tickKey.split(".").at(-1) ?? "";
  const iso = stamp.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z");
  return Date.parse(iso);
}

/** The digest job's lock keys in the scenario's NATS. */
async function lockKeys(): Promise<Set<string>> {
  const nc = await connect({ servers: nats.url });
  try {
    const kv = await new Kvm(nc).open(JOB_LOCK_BUCKET);
    const keys = new Set<string>();
    for await (const key of await kv.keys(`${JOBS_SERVICE}.${DAILY_DIGEST_JOB}.*`)) keys.add(key);
    return keys;
  } finally {
    await nc.close();
  }
}
