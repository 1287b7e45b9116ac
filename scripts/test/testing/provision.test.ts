import { describe, expect, it } from "@jest/globals";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { createDatabase, provisionInfrastructure } from "../../src/testing/provision.js";

describe("globalSetup infrastructure", () => {
  it("exports NATS with JetStream through NATS_URL", async () => {
    const url = process.env.NATS_URL;
    expect(url).toMatch(/^nats:\/\//);
    const nc = await connect({ servers: url });
    try {
      const info = await (await jetstreamManager(nc)).getAccountInfo();
      expect(info.limits).toBeDefined();
    } finally {
      await nc.close();
    }
  });

  it("exports a PostgreSQL server URL on which createDatabase makes separate databases", async () => {
    expect(process.env.DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
    const first = await createDatabase("scripts provision-test");
    const second = await createDatabase("scripts provision-test");
    expect(first).not.toBe(second);
    for (const url of [first, second]) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ db: string }>("SELECT current_database() AS db");
        expect(`/${rows[0]?.db}`).toBe(new URL(url).pathname);
        expect(rows[0]?.db).toMatch(/^scripts_provision_test_[0-9a-f]{10}$/);
      } finally {
        await client.end();
      }
    }
  });

  it("exports the mail sink through SMTP_URL and MAIL_API_URL", async () => {
    expect(process.env.SMTP_URL).toMatch(/^smtp:\/\//);
    const response = await fetch(`${process.env.MAIL_API_URL}/api/v1/messages`);
    expect(response.status).toBe(200);
  });
});

describe("provisionInfrastructure", () => {
  it("uses the URLs from env as they are and stops nothing of them", async () => {
    const env = {
      NATS_URL: process.env.NATS_URL,
      DATABASE_URL: process.env.DATABASE_URL,
      SMTP_URL: process.env.SMTP_URL,
      MAIL_API_URL: process.env.MAIL_API_URL,
    };
    const infra = await provisionInfrastructure({ env });
    expect(infra.sources).toEqual({ nats: "env", postgres: "env", smtp: "env" });
    expect(infra).toMatchObject({
      natsUrl: env.NATS_URL,
      databaseUrl: env.DATABASE_URL,
      smtpUrl: env.SMTP_URL,
      mailApiUrl: env.MAIL_API_URL,
    });
    await infra.stop();
    const nc = await connect({ servers: env.NATS_URL });
    await nc.close();
  });

  it("falls back to a local nats-server and embedded PostgreSQL, and stops them", async () => {
    const infra = await provisionInfrastructure({ env: { PORTICO_TEST_INFRA: "local" } });
    let databaseUrl = "";
    try {
      expect(infra.sources).toEqual({ nats: "local", postgres: "local", smtp: "local" });
      const nc = await connect({ servers: infra.natsUrl });
      await (await jetstreamManager(nc)).getAccountInfo();
      await nc.close();
      databaseUrl = await infra.createDatabase("local_fallback");
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.end();
      const health = await fetch(`${infra.mailApiUrl}/api/v1/messages`);
      expect(health.status).toBe(200);
    } finally {
      await infra.stop();
    }
    await expect(connect({ servers: infra.natsUrl, reconnect: false })).rejects.toThrow();
    await expect(new pg.Client({ connectionString: databaseUrl }).connect()).rejects.toThrow(
      /ECONNREFUSED/,
    );
  }, 60_000);
});
