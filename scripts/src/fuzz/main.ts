/**
 * `npm run test:fuzz`: contract fuzzing of the public API with Schemathesis (PyPI, pinned in
 * scripts/fuzz/requirements.txt). Starts the whole system on infrastructure of its own (as the
 * end-to-end tests do, `NODE_ENV=test`: the services validate their responses too), signs in an
 * administrator and a user through the API, and runs Schemathesis against the gateway's
 * `GET /openapi.json` with scripts/fuzz/schemathesis.toml (checks, bounds, auth) plus what each
 * operation may answer beyond them, derived from that contract (expected-statuses.ts, written to
 * .data/fuzz/schemathesis.toml and printed), and scripts/fuzz/hooks.py. Prints how many stateful scenarios and requests ran and which declared links
 * they followed. Exits 0 only when every pass found nothing and the stateful phase followed at least
 * one link the contracts declare (scripts/fuzz/README.md lists the checks). Schemathesis's report
 * and the system's log are kept in .data/fuzz/.
 *
 *   npm run test:fuzz                       the whole run
 *   npm run test:fuzz -- --include-operation-id getProduct   extra arguments go to `schemathesis run`
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { signIn } from "../bench/accounts.js";
import { UNREACHABLE_RATE_LIMITS } from "../bench/gateway-cost.js";
import { startStandaloneSystem } from "../bench/standalone-system.js";
import { fileSink } from "../infra/process.js";
import { dataRoot } from "../paths.js";
import {
  deriveExpectations,
  describeExpectations,
  type OpenApiDocument,
  renderOperationsToml,
} from "./expected-statuses.js";
import { describeStatefulSummary, summarizeStatefulPhase } from "./stateful-report.js";
import { ensureSchemathesis, FUZZ_DIR } from "./venv.js";

function say(line: string): void {
  process.stdout.write(`fuzz | ${line}\n`);
}

const outDir = join(dataRoot, "fuzz");
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const schemathesis = await ensureSchemathesis(say);
const log = fileSink(join(outDir, "system.log"));

say("starting the system (own NATS, PostgreSQL, SMTP sink) …");
const system = await startStandaloneSystem({
  name: "fuzz",
  nodeEnv: "test",
  logLevel: "info",
  log: log.sink,
  durable: false,
  // Rate limits out of reach; a heartbeat every 200 ms, so each `GET /events` case (which reads
  // the stream's first event) ends at once instead of after the default 15 s.
  envByProcess: { gateway: { ...UNREACHABLE_RATE_LIMITS, SSE_HEARTBEAT_MS: "200" } },
});
/**
 * One Schemathesis pass: its name, the token it sends and that token's role, arguments after the
 * defaults, and whether it runs the stateful phase (which must then follow at least one link the
 * contracts declare).
 */
interface Pass {
  name: string;
  token: string;
  role: "admin" | "user";
  args: string[];
  stateful: boolean;
}

/** The pass's NDJSON event report (read afterwards for the stateful phase's counts). */
function ndjsonPath(pass: Pass): string {
  return join(outDir, pass.name, "events.ndjson");
}

/** Runs `schemathesis run` for one pass, its output on this process's; resolves its exit code. */
function runPass(gateway: string, configFile: string, pass: Pass): Promise<number> {
  const args = [
    "--config-file",
    configFile,
    "run",
    `${gateway}/openapi.json`,
    "--report",
    "junit,ndjson",
    "--report-dir",
    join(outDir, pass.name),
    "--report-ndjson-path",
    ndjsonPath(pass),
    ...pass.args,
    ...process.argv.slice(2),
  ];
  return new Promise<number>((resolve) => {
    const child = spawn(schemathesis, args, {
      // Hypothesis keeps its example database in the working directory: not in the repo.
      cwd: outDir,
      // scripts/fuzz/hooks.py: positive cases leave out drawn pagination cursors, and operations
      // whose security requirements list no scope of PORTICO_ROLE must answer 403 (see there).
      env: {
        ...process.env,
        PORTICO_TOKEN: pass.token,
        PORTICO_ROLE: pass.role,
        PYTHONPATH: FUZZ_DIR,
        SCHEMATHESIS_HOOKS: "hooks",
      },
      stdio: "inherit",
    });
    child.on("exit", (exit, signal) => resolve(exit ?? (signal ? 1 : 0)));
    child.on("error", (error) => {
      say(`could not run schemathesis: ${error.message}`);
      resolve(1);
    });
  });
}

/**
 * Writes the run's Schemathesis configuration to `.data/fuzz/schemathesis.toml`: the static
 * settings of scripts/fuzz/schemathesis.toml and, after them, what each operation may answer
 * beyond them, derived from the gateway's public contract (expected-statuses.ts); prints the
 * derived exceptions. Resolves the file's path.
 */
async function writeEffectiveConfig(gateway: string): Promise<string> {
  const response = await fetch(`${gateway}/openapi.json`);
  if (!response.ok) throw new Error(`GET ${gateway}/openapi.json answered ${response.status}`);
  const expectations = deriveExpectations((await response.json()) as OpenApiDocument);
  say("exceptions to 2xx for valid and 400 for invalid requests, from the contract:");
  for (const line of describeExpectations(expectations)) say(`  ${line}`);
  const base = await readFile(join(FUZZ_DIR, "schemathesis.toml"), "utf8");
  const derived = renderOperationsToml(expectations);
  const configFile = join(outDir, "schemathesis.toml");
  await writeFile(
    configFile,
    `${base}\n# Derived from ${gateway}/openapi.json by scripts/src/fuzz/expected-statuses.ts.\n${derived}`,
  );
  return configFile;
}

const codes: Record<string, number> = {};
try {
  const gateway = system.urls.gateway;
  const admin = await signIn(gateway, system.adminEmail, "fuzz-admin-password");
  const user = await signIn(gateway, "fuzz-user@example.com", "fuzz-user-password");
  // The contract's own example account, so `issueToken`'s examples reach its success path.
  await signIn(gateway, "ada@example.com", "correct-horse-battery");
  say(`gateway ${gateway}; an administrator and a user signed in`);
  const configFile = await writeEffectiveConfig(gateway);
  const passes: Pass[] = [
    { name: "admin", token: admin.token, role: "admin", args: [], stateful: true },
    // Administrators' operations as a plain user: 403 whatever the data (hooks.py's role_refused),
    // so the checks that expect a valid request to succeed and an invalid one to get 400 give way
    // to it in this pass; the administrator's pass holds every operation to them.
    {
      name: "user",
      token: user.token,
      role: "user",
      args: [
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "10",
        "--exclude-checks",
        "positive_data_acceptance,negative_data_rejection",
      ],
      stateful: false,
    },
  ];
  for (const pass of passes) {
    say(`pass "${pass.name}" …`);
    codes[pass.name] = await runPass(gateway, configFile, pass);
    if (!pass.stateful) continue;
    const summary = await summarizeStatefulPhase(ndjsonPath(pass));
    say(`pass "${pass.name}", stateful phase: ${describeStatefulSummary(summary)}`);
    for (const link of summary.declaredLinks) say(`  followed ${link}`);
    // A run narrowed by extra arguments (one operation, say) may leave no chain to follow.
    if (summary.declaredLinks.length === 0 && process.argv.length <= 2) {
      say(`pass "${pass.name}": the stateful phase followed no link the contracts declare`);
      codes[pass.name] ||= 1;
    }
  }
} finally {
  await system.stop();
  await log.close();
}
const failed = Object.entries(codes).filter(([, code]) => code !== 0);
const code = failed.length === 0 && Object.keys(codes).length > 0 ? 0 : 1;
say(
  code === 0
    ? `schemathesis found nothing (passes: ${Object.keys(codes).join(", ")})`
    : `schemathesis failed in pass ${failed.map(([name, exit]) => `${name} (exit ${exit})`).join(", ") || "setup"}; the system's log: ${join(outDir, "system.log")}`,
);
process.exit(code);
