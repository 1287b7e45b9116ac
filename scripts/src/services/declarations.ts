/**
 * The services of the system, read from their own folders: each `services/<name>/` declares itself
 * once, in the `portico` section of its `package.json` (TypeScript) or in `portico.json` (any other
 * language). Everything that lists services — `npm start`'s process table, code generation,
 * compose.yaml, deploy/k8s, the database init script, the jest projects (through the workspaces)
 * — derives from {@link readServiceDeclarations}; no list of services is kept by hand.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { repoRoot } from "../paths.js";

/**
 * What the system hands a service, by variable name. The service lists the ones it reads in
 * `needs`; where each value comes from depends on where the system runs (`npm start`, compose,
 * Kubernetes):
 * - `NATS_URL`: the NATS server (with JetStream);
 * - `DATABASE_URL`: the service's own PostgreSQL database (implies `database: true`);
 * - `JWKS_URL`: the JWK Set of the service that `provides` it (the token issuer);
 * - `SMTP_URL`: the outgoing mail server.
 */
export const SYSTEM_VARIABLES = ["NATS_URL", "DATABASE_URL", "JWKS_URL", "SMTP_URL"] as const;
export type SystemVariable = (typeof SYSTEM_VARIABLES)[number];

/** The issuer and audience of the system's tokens, set for every process in every environment. */
export const TOKEN_CLAIMS = { JWT_ISSUER: "portico", JWT_AUDIENCE: "portico-api" } as const;

/** The gateway's variable holding a service's URLs: `products` → `PRODUCTS_URL`. */
export function upstreamVariable(service: string): string {
  return `${service.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_URL`;
}

const serviceName = z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, "lower-kebab-case");
const variableName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "UPPER_SNAKE_CASE");

/** The shape of a declaration (the `portico` section, or `portico.json`). */
export const serviceDeclarationSchema = z
  .object({
    /** The service's name: its folder, contract, database, stream and process name. */
    name: serviceName,
    /** One line: what it owns (compose and k8s comments, the docs). */
    description: z.string().min(1),
    language: z.enum(["typescript", "python"]),
    /** Its port under `npm start` (replicas add 100 each) and in its container. Unique. */
    port: z.number().int().min(1024).max(65_535),
    /** Whether it owns a PostgreSQL database, named after it. */
    database: z.boolean().default(false),
    /** Its HTTP contract, `contracts/<contract>.yaml`. Default: its name. */
    contract: serviceName.optional(),
    /** What it reads from the system (see {@link SYSTEM_VARIABLES}). */
    needs: z.array(z.enum(SYSTEM_VARIABLES)).default([]),
    /** System variables it serves, each the path of it on the service: `{"JWKS_URL": "/.well-known/jwks.json"}`. */
    provides: z.partialRecord(z.enum(SYSTEM_VARIABLES), z.string().startsWith("/")).default({}),
    /** Its own non-secret settings with their values (a ConfigMap entry in Kubernetes). */
    config: z.record(variableName, z.string()).default({}),
    /** Its own secrets: from `.env` in compose, its Secret `portico-<name>` in Kubernetes. */
    secrets: z.array(variableName).default([]),
    /** Whether several instances may run at once (`npm start -- --replicas N`, Deployments). */
    replicable: z.boolean().default(true),
    /** Path answering 200 once the service can serve. */
    readyPath: z.string().startsWith("/").default("/readyz"),
    /** Path answering 200 while the process is alive. */
    livePath: z.string().startsWith("/").default("/healthz"),
  })
  .strict();

/** A service's declaration, with its folder and defaults filled in. */
export interface ServiceDeclaration extends z.output<typeof serviceDeclarationSchema> {
  contract: string;
  /** Its folder, relative to the repository root (`services/<name>`). */
  dir: string;
}

/** The file a service of each language declares itself in, relative to its folder. */
export function declarationFileOf(dir: string): string | undefined {
  const manifest = join(dir, "portico.json");
  if (existsSync(manifest)) return manifest;
  const pkg = join(dir, "package.json");
  if (existsSync(pkg) && "portico" in JSON.parse(readFileSync(pkg, "utf8"))) return pkg;
  return undefined;
}

/**
 * Reads and validates one declaration.
 * @throws Error naming the file and every invalid field.
 */
export function parseDeclaration(file: string, raw: unknown, dir: string): ServiceDeclaration {
  const result = serviceDeclarationSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join(".") || "(root)"}: ${i.message}`,
    );
    throw new Error(`${file}: invalid service declaration: ${problems.join("; ")}`);
  }
  const declaration = result.data;
  if (declaration.needs.includes("DATABASE_URL") !== declaration.database) {
    throw new Error(`${file}: "database": true and needs DATABASE_URL go together`);
  }
  return { ...declaration, contract: declaration.contract ?? declaration.name, dir };
}

/**
 * Every declared service under `services/`, ordered by port (the order of the public document,
 * `npm start`'s table and the manifests). Folders without a declaration (the kit) are skipped.
 * @param root the repository root (default: this one; tests pass a scratch copy).
 * @throws Error for an invalid declaration, a name that is not its folder's, or a port, contract
 *   or provided variable declared twice.
 */
export function readServiceDeclarations(root: string = repoRoot): ServiceDeclaration[] {
  const servicesDir = join(root, "services");
  const declarations = readdirSync(servicesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const dir = join(servicesDir, entry.name);
      const file = declarationFileOf(dir);
      if (!file) return [];
      const json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      const raw = file.endsWith("package.json") ? json.portico : json;
      const declaration = parseDeclaration(file, raw, `services/${entry.name}`);
      if (declaration.name !== entry.name) {
        throw new Error(
          `${file}: name "${declaration.name}" is not its folder's ("${entry.name}")`,
        );
      }
      return [declaration];
    })
    .sort((a, b) => a.port - b.port);
  for (const key of ["port", "contract"] as const) {
    const seen = new Map<unknown, string>();
    for (const d of declarations) {
      const other = seen.get(d[key]);
      if (other) throw new Error(`services ${other} and ${d.name} declare the same ${key}`);
      seen.set(d[key], d.name);
    }
  }
  for (const variable of SYSTEM_VARIABLES) {
    const providers = declarations.filter((d) => d.provides[variable] !== undefined);
    if (providers.length > 1) {
      throw new Error(`${variable} is provided by ${providers.map((d) => d.name).join(" and ")}`);
    }
  }
  return declarations;
}

/** The service providing `variable` (e.g. the token issuer for `JWKS_URL`), if any. */
export function providerOf(
  declarations: readonly ServiceDeclaration[],
  variable: SystemVariable,
): { service: ServiceDeclaration; path: string } | undefined {
  const service = declarations.find((d) => d.provides[variable] !== undefined);
  return service ? { service, path: service.provides[variable] as string } : undefined;
}
