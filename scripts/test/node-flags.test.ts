/**
 * The Node.js flags of the system's TypeScript processes reach every way it runs: `npm start` and
 * the benchmark (the process table's command lines) and the container images (`NODE_OPTIONS` in
 * each TypeScript Dockerfile and in the template a new service's Dockerfile is written from).
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { readServiceDeclarations } from "../src/services/declarations.js";
import { NODE_FLAGS, nodeFlags, SYSTEM_PROCESSES, type SystemContext } from "../src/system.js";

const root = resolve(import.meta.dirname, "../..");

describe("Node.js flags", () => {
  const dockerfiles = [
    ...readServiceDeclarations()
      .filter((service) => service.language === "typescript")
      .map((service) => `${service.dir}/Dockerfile`),
    "gateway/Dockerfile",
    "scripts/templates/typescript/Dockerfile",
  ];

  it.each(dockerfiles)("%s sets NODE_OPTIONS to the production flags", (path) => {
    const dockerfile = readFileSync(join(root, path), "utf8");
    expect(dockerfile).toMatch(/^FROM node:\S+ AS runtime$/m);
    expect(dockerfile).toContain(`\nENV NODE_OPTIONS=${NODE_FLAGS.join(" ")}\n`);
  });

  it("gives source maps outside production only", () => {
    expect(nodeFlags("production")).toEqual(NODE_FLAGS);
    expect(nodeFlags("development")).toEqual([...NODE_FLAGS, "--enable-source-maps"]);
    expect(nodeFlags("test")).toContain("--enable-source-maps");
  });

  it("starts every TypeScript row with the flags of the system's NODE_ENV", () => {
    const context = { nodeEnv: "production" } as SystemContext;
    const rows = SYSTEM_PROCESSES.map((spec) => spec.command(context)).filter((command) =>
      command.args.some((arg) => arg.endsWith(".js")),
    );
    expect(rows.length).toBeGreaterThan(1);
    for (const { command, args } of rows) {
      expect(command).toBe(process.execPath);
      expect(args.slice(0, -1)).toEqual(NODE_FLAGS);
    }
    const gateway = SYSTEM_PROCESSES.find((spec) => spec.kind === "gateway");
    const development = gateway?.command({ ...context, nodeEnv: "development" });
    expect(development?.args).toContain("--enable-source-maps");
  });
});
