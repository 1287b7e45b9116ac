/**
 * The process table derived from the service declarations, and its replicas: names, ports and the
 * environment each row derives from the declarations (the gateway's instance lists, the issuer's
 * JWK Set URL, what each service `needs`). Runs on two made-up declarations, so no service of the
 * repository is pinned here; no process is started (fault scenario g starts the replicated system
 * for real).
 */
import { describe, expect, it } from "@jest/globals";
import { parseDeclaration, type ServiceDeclaration } from "../src/services/declarations.js";
import {
  type ProcessSpec,
  SYSTEM_PROCESSES,
  type SystemContext,
  serviceOf,
  systemProcesses,
  withReplicas,
} from "../src/system.js";

const declare = (raw: Record<string, unknown>): ServiceDeclaration =>
  parseDeclaration("test", raw, `services/${raw.name}`);
const SERVICES = [
  declare({
    name: "issuer",
    description: "Signs tokens.",
    language: "typescript",
    port: 9001,
    database: true,
    needs: ["NATS_URL", "DATABASE_URL"],
    provides: { JWKS_URL: "/jwks" },
    config: { GREETING: "hello" },
  }),
  declare({
    name: "scorer",
    description: "Scores.",
    language: "python",
    port: 9002,
    needs: ["NATS_URL", "JWKS_URL", "SMTP_URL"],
  }),
];
const TABLE = systemProcesses(SERVICES);

function contextOf(processes: readonly ProcessSpec[]): SystemContext {
  return {
    processes,
    services: SERVICES,
    host: "127.0.0.1",
    ports: Object.fromEntries(processes.map((spec) => [spec.name, spec.defaultPort])),
    natsUrl: "nats://127.0.0.1:4222",
    databaseUrls: { issuer: "postgres://u@127.0.0.1:5433/issuer" },
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

describe("the process table", () => {
  it("has one row per declared service of this repository, then the gateway", () => {
    expect(SYSTEM_PROCESSES.at(-1)?.name).toBe("gateway");
    expect(SYSTEM_PROCESSES.filter((spec) => spec.kind === "service").length).toBeGreaterThan(0);
  });

  it("keeps the table as it is for one replica", () => {
    expect(withReplicas(TABLE, 1)).toEqual([...TABLE]);
  });

  it("copies every service, named and ported per replica, and keeps one gateway", () => {
    const table = withReplicas(TABLE, 2);

    expect(table.map((spec) => [spec.name, serviceOf(spec), spec.defaultPort, spec.stage])).toEqual(
      [
        ["issuer-1", "issuer", 9001, 0],
        ["issuer-2", "issuer", 9101, 0],
        ["scorer-1", "scorer", 9002, 0],
        ["scorer-2", "scorer", 9102, 0],
        ["gateway", "gateway", 8080, 1],
      ],
    );
    // Replicas of a service share its database.
    expect(table.filter((s) => serviceOf(s) === "issuer").map((s) => s.database)).toEqual([
      "issuer",
      "issuer",
    ]);
  });

  it.each([0, 10, 1.5])("refuses %s replicas", (replicas) => {
    expect(() => withReplicas(TABLE, replicas)).toThrow(/integer from 1 to 9/);
  });
});

describe("the environment derived from the declarations", () => {
  it("gives the gateway every instance of each service and every issuer's JWK Set", () => {
    const env = envOf(withReplicas(TABLE, 2), "gateway");

    expect(env).toMatchObject({
      PORT: "8080",
      ISSUER_URL: "http://127.0.0.1:9001,http://127.0.0.1:9101",
      SCORER_URL: "http://127.0.0.1:9002,http://127.0.0.1:9102",
      JWKS_URL: "http://127.0.0.1:9001/jwks,http://127.0.0.1:9101/jwks",
    });
  });

  it("gives a replica its own port, its database, its settings and only what it needs", () => {
    const env = envOf(withReplicas(TABLE, 2), "issuer-2");

    expect(env).toMatchObject({
      PORT: "9101",
      DATABASE_URL: "postgres://u@127.0.0.1:5433/issuer",
      NATS_URL: "nats://127.0.0.1:4222",
      GREETING: "hello",
    });
    expect(env.JWKS_URL).toBeUndefined();
    expect(env.SMTP_URL).toBeUndefined();
  });

  it("runs a Python service from its virtual environment, without a database", () => {
    const scorer = TABLE.find((spec) => spec.name === "scorer") as ProcessSpec;
    const { command, args } = scorer.command(contextOf(TABLE));

    expect(command).toMatch(/services\/scorer\/\.venv\/bin\/python$/);
    expect(args).toEqual(["-m", "app"]);
    expect(scorer.database).toBeUndefined();
    expect(envOf(TABLE, "scorer")).toMatchObject({
      PORT: "9002",
      NATS_URL: "nats://127.0.0.1:4222",
      SMTP_URL: "smtp://127.0.0.1:1025",
      JWKS_URL: "http://127.0.0.1:9001/jwks",
      PYTHONPATH: expect.stringMatching(/services\/scorer$/),
    });
    expect(envOf(TABLE, "scorer").DATABASE_URL).toBeUndefined();
  });
});

describe("a declaration", () => {
  it("is refused with every invalid field named", () => {
    expect(() => declare({ name: "Bad_Name", language: "cobol", port: 80 })).toThrow(
      /name: .*language: .*port: /s,
    );
  });

  it("is refused when it needs DATABASE_URL without owning a database", () => {
    expect(() =>
      declare({
        name: "x",
        description: "x",
        language: "python",
        port: 9003,
        needs: ["DATABASE_URL"],
      }),
    ).toThrow(/database/);
  });
});
