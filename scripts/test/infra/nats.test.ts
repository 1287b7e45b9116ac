import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { isInfraError } from "../../src/infra/errors.js";
import { startNats } from "../../src/infra/nats.js";
import { getFreePort, isPortFree } from "../../src/infra/ports.js";
import { isAlive, tempDir } from "../helpers.js";

describe("startNats", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir("nats");
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("starts nats-server with JetStream on the requested port and stops it without a trace", async () => {
    const port = await getFreePort();
    const server = await startNats({ storeDir: `${dir.path}/a`, port });
    expect(server.url).toBe(`nats://127.0.0.1:${port}`);
    expect(isAlive(server.pid)).toBe(true);

    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.getAccountInfo();
      expect(info.streams).toBe(0);
      await jsm.streams.add({ name: "probe", subjects: ["probe.>"] });
      expect((await jsm.getAccountInfo()).streams).toBe(1);
    } finally {
      await nc.close();
    }

    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    expect(await isPortFree(port)).toBe(true);
    await server.stop(); // idempotent
  });

  it("picks a free port when none is given", async () => {
    const server = await startNats({ storeDir: `${dir.path}/b` });
    try {
      expect(Number(new URL(server.url).port)).toBeGreaterThan(0);
      const health = await fetch(`${server.monitorUrl}/healthz?js-enabled-only=true`);
      expect(health.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it("explains how to install nats-server when it is not on PATH", async () => {
    const error = await startNats({ storeDir: `${dir.path}/c`, searchPath: dir.path }).catch(
      (e: unknown) => e,
    );
    expect(isInfraError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain("sudo apt-get install -y nats-server");
    expect(message).toContain("brew install nats-server");
    expect(message).toContain("docker compose up");
  });

  it("fails with the server's own log when the port is taken", async () => {
    const first = await startNats({ storeDir: `${dir.path}/d` });
    try {
      const port = Number(new URL(first.url).port);
      const error = await startNats({ storeDir: `${dir.path}/e`, port }).catch((e: unknown) => e);
      expect(isInfraError(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /nats-server exited with code 1 before it was ready/,
      );
      expect((error as Error).message).toContain("address already in use");
    } finally {
      await first.stop();
    }
  });
});
