/**
 * Run inside a scratch copy of the repository by new-service.test.ts (`tsx drive-service.ts
 * <service>`): starts the whole system as `npm start` does (own nats-server and SMTP sink, fresh
 * databases on the test run's PostgreSQL server at DATABASE_URL), then calls the scaffolded
 * service through the gateway with @portico/client and reads its created event from JetStream.
 * Prints what it observed as one JSON line; the test asserts on it. Stops everything it started.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createPorticoClient, unwrap } from "@portico/client";
import { STREAMS, validateEvent } from "@portico/contracts";
import { startNats } from "../../src/infra/nats.js";
import { getFreePort } from "../../src/infra/ports.js";
import { startSmtpSink } from "../../src/infra/smtp.js";
import { SYSTEM_PROCESSES, startSystem, type UnexpectedExit } from "../../src/system.js";
import { createDatabase } from "../../src/testing/provision.js";

const service = process.argv[2] as string;
const stops: (() => Promise<unknown>)[] = [];
/**
 * A process of the system that ended on its own. Any failure names it with its last lines: what
 * stands in for it otherwise shows only as a strange answer through the gateway (once another
 * test's server took the users port, the users service died with EADDRINUSE and the sign-in was
 * answered without a token).
 */
let exited: UnexpectedExit | undefined;
try {
  const dir = await mkdtemp(join(tmpdir(), `portico-drive-${service}-`));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  const nats = await startNats({ storeDir: join(dir, "nats") });
  stops.push(nats.stop);
  const smtp = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
  stops.push(smtp.stop);
  const databaseUrls: Record<string, string> = {};
  const ports: Record<string, number> = {};
  for (const spec of SYSTEM_PROCESSES) {
    if (spec.database)
      databaseUrls[spec.database] = await createDatabase(`scaffold_${spec.database}`);
    ports[spec.name] = await getFreePort();
  }
  const system = await startSystem({
    natsUrl: nats.url,
    databaseUrls,
    smtpUrl: smtp.smtpUrl,
    ports,
    nodeEnv: "test",
    readyTimeoutMs: 60_000,
  });
  stops.push(system.stop);
  void system.unexpectedExit.then((exit) => {
    exited = exit;
  });

  // The client's paths are typed from the public contract: this service's are there too.
  const client = createPorticoClient({ baseUrl: system.urls.gateway }) as unknown as {
    GET(path: string, init?: object): Promise<{ response: Response; data?: unknown }>;
    POST(
      path: string,
      init: object,
    ): Promise<{ response: Response; data?: unknown; error?: unknown }>;
    signIn(email: string, password: string): Promise<unknown>;
  };
  const anonymous = await client.GET(`/${service}`);
  const email = `scaffold-${Date.now()}@example.com`;
  await unwrap(
    createPorticoClient({ baseUrl: system.urls.gateway }).POST("/users", {
      body: { email, password: "scaffold-password", name: "Scaffold" },
    }),
  );
  await client.signIn(email, "scaffold-password");
  const created = await client.POST(`/${service}`, { body: { name: "First" } });
  if (created.data === undefined) {
    throw new Error(
      `POST /${service} answered ${created.response.status}: ${JSON.stringify(created.error)}`,
    );
  }
  const id = (created.data as { id: string }).id;
  const got = await client.GET(`/${service}/${id}`);

  const nc = await connect({ servers: nats.url });
  stops.push(() => nc.drain());
  const stream = (STREAMS as Record<string, { name: string }>)[service]?.name as string;
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.All,
  });
  const message = await consumer.next({ expires: 10_000 });
  if (exited) throw new Error("a process of the system ended while the service was driven");
  const envelope = message?.json<{ type: string; subject: string }>();
  console.log(
    JSON.stringify({
      anonymous: anonymous.response.status,
      created: created.response.status,
      got: got.response.status,
      sameAsCreated: JSON.stringify(got.data) === JSON.stringify(created.data),
      event: envelope?.type,
      eventAbout: envelope?.subject === id,
      eventValid: envelope ? validateEvent(envelope.type, envelope).valid : false,
    }),
  );
} catch (error) {
  if (exited && error instanceof Error) {
    error.message += `; ${exited.name} ended (${JSON.stringify(exited.info)}), its last lines:\n${exited.tail.slice(-10).join("\n")}`;
  }
  throw error;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
