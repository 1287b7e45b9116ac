/**
 * Fault scenario c: the products service (a separate process) is killed with SIGKILL between
 * its database commits and the publishing of their events, and restarted.
 *
 * 1. NATS is down (nothing listens on its port): the service starts anyway, 40 writes commit
 *    their events into the outbox, none can be published; then the process is SIGKILLed.
 * 2. nats-server starts on that port, the service restarts: its relay publishes the backlog.
 * 3. The crash one step later — after the publish, before the rows are marked published — is
 *    reproduced by SIGKILLing the service and marking its last 15 published events pending
 *    again; the restarted relay republishes them and JetStream drops the copies (Nats-Msg-Id).
 *
 * Each committed event must be in the PRODUCTS stream exactly once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type NatsServer, startNats } from "@portico/scripts/infra/nats";
import { getFreePort } from "@portico/scripts/infra/ports";
import { recordScenario } from "@portico/scripts/reliability/record";
import { sql } from "kysely";
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

const PRODUCTS = 10;
const STOCK_CHANGES = 30;
const REPUBLISHED = 15;

let workDir: string;
let natsUrl: string;
let nats: NatsServer | undefined;
let database: FaultDatabase;
let jwks: TestJwks;
const processes: ProductsProcess[] = [];

async function startProducts(): Promise<ProductsProcess> {
  const started = await startProductsProcess({
    databaseUrl: database.url,
    natsUrl,
    jwksUrl: jwks.url,
  });
  processes.push(started);
  return started;
}

async function pendingEvents(): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from outbox where published_at is null`.execute(database.db);
  return rows[0]?.n ?? 0;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "portico-fault-c-"));
  natsUrl = `nats://127.0.0.1:${await getFreePort()}`; // nothing listens there yet
  database = await createFaultDatabase("products_fault_c");
  jwks = await serveTestJwks();
}, 60_000);

afterAll(async () => {
  for (const started of processes) await started.proc.stop(10_000);
  await nats?.stop();
  await jwks?.close();
  await database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 30_000);

describe("c: publishing service killed between commit and publish", () => {
  it("publishes every committed event exactly once after the restart", async () => {
    // 1. Writes commit while NATS is down; then the process dies before it could publish.
    const first = await startProducts();
    const statuses: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < PRODUCTS; i += 1) {
      const created = await adminRequest(first.baseUrl, jwks.adminToken, "POST", "/products", {
        name: `Teapot ${i}`,
        price: { amount: 1800, currency: "EUR" },
        stock: 0,
      });
      statuses.push(created.status);
      if (created.body?.id) ids.push(created.body.id);
    }
    for (let i = 0; i < STOCK_CHANGES; i += 1) {
      const id = ids[i % PRODUCTS] as string;
      const quantity = Math.floor(i / PRODUCTS) + 1;
      const res = await adminRequest(
        first.baseUrl,
        jwks.adminToken,
        "PUT",
        `/products/${id}/stock`,
        {
          quantity,
        },
      );
      statuses.push(res.status);
    }
    const committedBeforeCrash = (await committedEvents(database.db)).length;
    const pendingAtCrash = await pendingEvents();
    await first.kill();

    // 2. NATS comes up, the service restarts and publishes the backlog.
    nats = await startNats({
      storeDir: join(workDir, "nats"),
      port: Number(new URL(natsUrl).port),
    });
    const second = await startProducts();
    await waitForOutboxDrained(database.db, 30_000);
    const afterRestart = compareDelivery(
      await committedEvents(database.db),
      await readProductsStream(nats.url),
    );

    // 3. Killed after publishing but before marking: the last events are pending again.
    await second.kill();
    await sql`update outbox set published_at = null where id in (
      select id from outbox order by seq desc limit ${REPUBLISHED})`.execute(database.db);
    const pendingAgain = await pendingEvents();
    const third = await startProducts();
    await waitForOutboxDrained(database.db, 30_000);
    const committed = await committedEvents(database.db);
    const report = compareDelivery(committed, await readProductsStream(nats.url));

    await recordScenario({
      id: "c",
      scenario: "products SIGKILLed between commit and publish (and between publish and mark)",
      sent: report.sent,
      effects: report.effects,
      lost: report.lost,
      duplicated: report.duplicated,
      notes:
        `${statuses.length} writes while NATS was down (${statuses.filter((s) => s >= 300).length} ` +
        `failed), ${pendingAtCrash} events pending at the SIGKILL, published after the restart ` +
        `(lost ${afterRestart.lost}, duplicated ${afterRestart.duplicated}); then SIGKILL with the ` +
        `last ${pendingAgain} published events marked pending, republished and de-duplicated by ` +
        `JetStream; products out of order: ${report.outOfOrder}`,
    });

    expect(statuses.every((s) => s >= 200 && s < 300)).toBe(true);
    // Ten creates, thirty stock changes, ten of them from 0 (back_in_stock too).
    expect(committedBeforeCrash).toBe(PRODUCTS + STOCK_CHANGES + PRODUCTS);
    expect(pendingAtCrash).toBe(committedBeforeCrash);
    expect(afterRestart).toMatchObject({ effects: committedBeforeCrash, lost: 0, duplicated: 0 });
    expect(pendingAgain).toBe(REPUBLISHED);
    expect(committed).toHaveLength(committedBeforeCrash);
    expect(report).toMatchObject({
      effects: committedBeforeCrash,
      lost: 0,
      duplicated: 0,
      mislabelled: 0,
      outOfOrder: 0,
    });
    expect(third.logs.some((l) => l.msg.startsWith("outbox relay cannot publish"))).toBe(false);
  }, 120_000);
});
