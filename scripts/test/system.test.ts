/**
 * The process table and its replicas: names, ports and the environment each row derives from the
 * table (the gateway's instance lists, the services' JWK Set URL). No process is started here;
 * fault scenario g starts the replicated system for real.
 */
import { describe, expect, it } from "@jest/globals";
import {
  type ProcessSpec,
  SYSTEM_PROCESSES,
  type SystemContext,
  serviceOf,
  withReplicas,
} from "../src/system.js";

function contextOf(processes: readonly ProcessSpec[]): SystemContext {
  return {
    processes,
    host: "127.0.0.1",
    ports: Object.fromEntries(processes.map((spec) => [spec.name, spec.defaultPort])),
    natsUrl: "nats://127.0.0.1:4222",
    databaseUrls: {
      users: "postgres://u@127.0.0.1:5433/users",
      products: "postgres://u@127.0.0.1:5433/products",
      notifications: "postgres://u@127.0.0.1:5433/notifications",
    },
    smtpUrl: "smtp://127.0.0.1:1025",
    nodeEnv: "test",
    logLevel: "info",
  };
}

function envOf(processes: readonly ProcessSpec[], name: string): Record<string, string> {
  const spec = processes.find((row) => row.name === name);
  if (!spec) throw new Error(`no row ${name}`);
  return spec.env(contextOf(processes), spec);
}

describe("withReplicas", () => {
  it("keeps the table as it is for one replica", () => {
    expect(withReplicas(SYSTEM_PROCESSES, 1)).toEqual([...SYSTEM_PROCESSES]);
  });

  it("copies every service, named and ported per replica, and keeps one gateway", () => {
    const table = withReplicas(SYSTEM_PROCESSES, 2);

    expect(table.map((spec) => [spec.name, serviceOf(spec), spec.defaultPort, spec.stage])).toEqual(
      [
        ["users-1", "users", 8081, 0],
        ["users-2", "users", 8181, 0],
        ["products-1", "products", 8082, 0],
        ["products-2", "products", 8182, 0],
        ["notifications-1", "notifications", 8083, 0],
        ["notifications-2", "notifications", 8183, 0],
        ["ml-1", "ml", 8084, 0],
        ["ml-2", "ml", 8184, 0],
        ["gateway", "gateway", 8080, 1],
      ],
    );
    expect(new Set(table.map((spec) => spec.defaultPort)).size).toBe(table.length);
    // Replicas of a service share its database.
    expect(table.filter((s) => serviceOf(s) === "products").map((s) => s.database)).toEqual([
      "products",
      "products",
    ]);
  });

  it.each([0, 10, 1.5])("refuses %s replicas", (replicas) => {
    expect(() => withReplicas(SYSTEM_PROCESSES, replicas)).toThrow(/integer from 1 to 9/);
  });
});

describe("the environment derived from the table", () => {
  it("gives the gateway every instance of each service and every users JWK Set", () => {
    const env = envOf(withReplicas(SYSTEM_PROCESSES, 2), "gateway");

    expect(env).toMatchObject({
      PORT: "8080",
      USERS_URL: "http://127.0.0.1:8081,http://127.0.0.1:8181",
      PRODUCTS_URL: "http://127.0.0.1:8082,http://127.0.0.1:8182",
      NOTIFICATIONS_URL: "http://127.0.0.1:8083,http://127.0.0.1:8183",
      ML_URL: "http://127.0.0.1:8084,http://127.0.0.1:8184",
      JWKS_URL:
        "http://127.0.0.1:8081/.well-known/jwks.json,http://127.0.0.1:8181/.well-known/jwks.json",
    });
  });

  it("gives a replica its own port, its service's database and the first users JWK Set", () => {
    const env = envOf(withReplicas(SYSTEM_PROCESSES, 2), "products-2");

    expect(env).toMatchObject({
      PORT: "8182",
      DATABASE_URL: "postgres://u@127.0.0.1:5433/products",
      JWKS_URL: "http://127.0.0.1:8081/.well-known/jwks.json",
    });
  });

  it("gives the gateway one URL per service without replicas", () => {
    const env = envOf(SYSTEM_PROCESSES, "gateway");

    expect(env.PRODUCTS_URL).toBe("http://127.0.0.1:8082");
    expect(env.JWKS_URL).toBe("http://127.0.0.1:8081/.well-known/jwks.json");
  });
});

describe("the ML service's row", () => {
  it("runs the Python service from its virtual environment, without a database", () => {
    const ml = SYSTEM_PROCESSES.find((spec) => spec.name === "ml") as ProcessSpec;
    const { command, args } = ml.command(contextOf(SYSTEM_PROCESSES));

    expect(command).toMatch(/services\/ml\/\.venv\/bin\/python$/);
    expect(args).toEqual(["-m", "app"]);
    expect(ml.database).toBeUndefined();
    expect(envOf(SYSTEM_PROCESSES, "ml")).toMatchObject({
      PORT: "8084",
      NATS_URL: "nats://127.0.0.1:4222",
      JWKS_URL: "http://127.0.0.1:8081/.well-known/jwks.json",
      PYTHONPATH: expect.stringMatching(/services\/ml$/),
    });
    expect(envOf(SYSTEM_PROCESSES, "gateway").ML_URL).toBe("http://127.0.0.1:8084");
  });
});
