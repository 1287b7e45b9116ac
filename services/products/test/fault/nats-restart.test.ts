/**
 * Fault scenario b: nats-server is killed (SIGKILL) and restarted on the same port and store in
 * the middle of a stream of 200 admin writes to the products service (a separate process).
 * Every write must succeed while NATS is down, and afterwards the PRODUCTS stream must hold
 * exactly one message per committed event (ids compared with the outbox table), in order per
 * product. The nats-server is the scenario's own, never jest's shared one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { getFreePort } from "@portico/scripts/infra/ports";
import { recordScenario } from "@portico/scripts/reliability/record";
import {
  adminRequest,
  committedEvents,
  compareDelivery,
  createFaultDatabase,
  type FaultDatabase,
  type ProductsProcess,
  readProductsStream,
  serveTestJwks,
  startProductsProcess,
  type TestJwks,
  waitForOutboxDrained,
} from "./harness.js";

const WRITES = 200;
const PRODUCTS = 10;
/** NATS is killed once this many writes have answered, and restarted after this many more. */
const KILL_AFTER = 60;
const RESTART_AFTER = 130;

let workDir: string;
let natsPort: number;
let nats: NatsServer | undefined;
let database: FaultDatabase;
let jwks: TestJwks;
let products: ProductsProcess | undefined;

const startOwnNats = () => startNats({ storeDir: join(workDir, "nats"), port: natsPort });

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "portico-fault-b-"));
  natsPort = await getFreePort();
  nats = await startOwnNats();
  database = await createFaultDatabase("products_fault_b");
  jwks = await serveTestJwks();
  products = await startProductsProcess({
    databaseUrl: database.url,
    natsUrl: nats.url,
    jwksUrl: jwks.url,
  });
}, 60_000);

afterAll(async () => {
  await products?.proc.stop(10_000);
  await nats?.stop();
  await jwks?.close();
  await database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 30_000);

/**
 * The i-th write: the first PRODUCTS create the catalogue, then stock levels that alternate
 * between 0 and more (stock.changed, and back_in_stock on each return), every fifth a rename.
 */
async function write(baseUrl: string, token: string, ids: string[], i: number) {
  if (i < PRODUCTS) {
    const created = await adminRequest(baseUrl, token, "POST", "/products", {
      name: `Kettle ${i}`,
      price: { amount: 2500 + i, currency: "EUR" },
      stock: 0,
    });
    if (created.body?.id) ids[i] = created.body.id;
    return created.status;
  }
  const id = ids[i % PRODUCTS] as string;
  const round = Math.floor(i / PRODUCTS);
  if (i % 5 === 0) {
    return (await adminRequest(baseUrl, token, "PATCH", `/products/${id}`, { name: `K${i}` }))
      .status;
  }
  const quantity = round % 2 === 0 ? 0 : round;
  return (await adminRequest(baseUrl, token, "PUT", `/products/${id}/stock`, { quantity })).status;
}

describe("b: nats-server killed and restarted during writes", () => {
  it("fails no write, loses no event and duplicates none", async () => {
    const service = products as ProductsProcess;
    const statuses: number[] = [];
    const ids: string[] = [];
    const timeline: Record<string, number> = {};
    const startedAt = Date.now();

    // Writes, one after another with a short pause, independent of the fault injection.
    const writer = (async () => {
      for (let i = 0; i < WRITES; i += 1) {
        statuses.push(await write(service.baseUrl, jwks.adminToken, ids, i).catch(() => 0));
        await delay(10);
      }
    })();

    // The fault: SIGKILL once KILL_AFTER writes are done, restart after RESTART_AFTER.
    while (statuses.length < KILL_AFTER) await delay(5);
    const running = nats as NatsServer;
    if (running.pid !== undefined) process.kill(running.pid, "SIGKILL");
    await running.stop();
    nats = undefined;
    timeline.killedAtWrite = statuses.length;
    const killedAt = Date.now();
    while (statuses.length < RESTART_AFTER) await delay(5);
    nats = await startOwnNats();
    timeline.restartedAtWrite = statuses.length;
    timeline.downMs = Date.now() - killedAt;
    await writer;
    timeline.writesMs = Date.now() - startedAt;

    await waitForOutboxDrained(database.db, 30_000);
    const report = compareDelivery(
      await committedEvents(database.db),
      await readProductsStream(nats.url),
    );
    const failedWrites = statuses.filter((s) => s < 200 || s >= 300).length;
    const outages = service.logs.filter((l) =>
      l.msg.startsWith("outbox relay cannot publish"),
    ).length;
    await recordScenario({
      id: "b",
      scenario: "nats-server killed (SIGKILL) and restarted during 200 HTTP writes to products",
      sent: report.sent,
      effects: report.effects,
      lost: report.lost,
      duplicated: report.duplicated,
      notes:
        `${WRITES} writes, ${failedWrites} failed; NATS killed after write ` +
        `${timeline.killedAtWrite}, restarted after write ${timeline.restartedAtWrite} ` +
        `(${timeline.downMs} ms down); writes took ${timeline.writesMs} ms; relay outages logged: ` +
        `${outages}; products out of order: ${report.outOfOrder}; Nats-Msg-Id mismatches: ` +
        `${report.mislabelled}`,
    });

    expect(statuses).toHaveLength(WRITES);
    expect(failedWrites).toBe(0);
    expect(report.sent).toBeGreaterThan(WRITES);
    expect(report).toMatchObject({
      effects: report.sent,
      lost: 0,
      duplicated: 0,
      mislabelled: 0,
      outOfOrder: 0,
    });
    // The outage was real: the relay saw it (once) while writes went on.
    expect(outages).toBe(1);
  }, 120_000);
});
