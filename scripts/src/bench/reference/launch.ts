/**
 * Starts the reference service (server.ts) as the services run: plain `node` on transpiled
 * JavaScript, no loader in the process (a loader would add its own work per request and tilt the
 * comparison). Its files are transpiled by esbuild into `node_modules/.cache/portico/
 * bench-reference/`, beside the workspaces' mirror (scripts/src/infra/transpile.ts), and
 * `@portico/contracts` resolves there to the mirrored contracts package.
 */
import { mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { mirrorRoot } from "../../infra/transpile.js";
import { repoRoot } from "../../paths.js";
import { prepareJavaScript } from "../../system.js";
import { type BenchChild, startNodeChild } from "../children.js";

const SOURCE_DIR = dirname(fileURLToPath(import.meta.url));
const OUT_DIR = join(repoRoot, "node_modules", ".cache", "portico", "bench-reference");

/** Transpiles the reference's files (all but this one); resolves to the entry's path. */
async function transpileReference(): Promise<string> {
  await prepareJavaScript(); // the mirrored @portico/contracts
  const sources = (await readdir(SOURCE_DIR))
    .filter((file) => file.endsWith(".ts") && file !== "launch.ts")
    .map((file) => join(SOURCE_DIR, file));
  await rm(OUT_DIR, { recursive: true, force: true });
  await build({
    entryPoints: sources,
    outdir: OUT_DIR,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    logLevel: "error",
  });
  await writeFile(join(OUT_DIR, "package.json"), '{ "type": "module" }\n');
  const contracts = join(OUT_DIR, "node_modules", "@portico", "contracts");
  await mkdir(dirname(contracts), { recursive: true });
  await symlink(join(mirrorRoot(repoRoot), "contracts"), contracts);
  return join(OUT_DIR, "server.js");
}

/** Where the reference finds its data and the users service's keys. */
export interface ReferenceOptions {
  /** The products service's database. */
  productsDatabaseUrl: string;
  /** The users service's database. */
  usersDatabaseUrl: string;
  /** The users service's JWK Set URL. */
  jwksUrl: string;
  /** Extra Node.js flags, e.g. `--cpu-prof`. */
  nodeFlags?: readonly string[];
}

/**
 * Transpiles and starts the reference service on a free port, in production mode with warnings
 * logged only (as the benchmark runs the services), and waits until it answers `GET /healthz`.
 * @throws InfraError with its last log lines when it exits or is not ready in time.
 */
export async function startReference(options: ReferenceOptions): Promise<BenchChild> {
  return startNodeChild({
    name: "reference",
    entry: await transpileReference(),
    readyPath: "/healthz",
    ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
    env: {
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      PRODUCTS_DATABASE_URL: options.productsDatabaseUrl,
      USERS_DATABASE_URL: options.usersDatabaseUrl,
      JWKS_URL: options.jwksUrl,
    },
  });
}
