/**
 * `npm run test:fuzz`: contract fuzzing of the public API with Schemathesis (PyPI, pinned in
 * scripts/fuzz/requirements.txt). Starts the whole system on infrastructure of its own (as the
 * end-to-end tests do, `NODE_ENV=test`: the services validate their responses too), signs in an
 * administrator through the API, and runs Schemathesis against the gateway's `GET /openapi.json`
 * with scripts/fuzz/schemathesis.toml (checks, bounds, auth). Exits with Schemathesis's code: 0 only
 * when no operation answered 5xx or anything its contract does not declare. Schemathesis's report
 * and the system's log are kept in .data/fuzz/.
 *
 *   npm run test:fuzz                       the whole run
 *   npm run test:fuzz -- --include-operation-id getProduct   extra arguments go to `schemathesis run`
 */
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { signIn } from "../bench/accounts.js";
import { UNREACHABLE_RATE_LIMITS } from "../bench/gateway-cost.js";
import { startStandaloneSystem } from "../bench/standalone-system.js";
import { fileSink } from "../infra/process.js";
import { dataRoot } from "../paths.js";
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
/** One Schemathesis pass: its name, the token it sends, and arguments after the defaults. */
interface Pass {
  name: string;
  token: string;
  args: string[];
}

/** Runs `schemathesis run` for one pass, its output on this process's; resolves its exit code. */
function runPass(gateway: string, pass: Pass): Promise<number> {
  const args = [
    "--config-file",
    join(FUZZ_DIR, "schemathesis.toml"),
    "run",
    `${gateway}/openapi.json`,
    "--report",
    "junit,ndjson",
    "--report-dir",
    join(outDir, pass.name),
    ...pass.args,
    ...process.argv.slice(2),
  ];
  return new Promise<number>((resolve) => {
    const child = spawn(schemathesis, args, {
      // Hypothesis keeps its example database in the working directory: not in the repo.
      cwd: outDir,
      env: { ...process.env, PORTICO_TOKEN: pass.token },
      stdio: "inherit",
    });
    child.on("exit", (exit, signal) => resolve(exit ?? (signal ? 1 : 0)));
    child.on("error", (error) => {
      say(`could not run schemathesis: ${error.message}`);
      resolve(1);
    });
  });
}

const codes: Record<string, number> = {};
try {
  const gateway = system.urls.gateway;
  const admin = await signIn(gateway, system.adminEmail, "fuzz-admin-password");
  const user = await signIn(gateway, "fuzz-user@example.com", "fuzz-user-password");
  // The contract's own example account, so `issueToken`'s examples reach its success path.
  await signIn(gateway, "ada@example.com", "correct-horse-battery");
  say(`gateway ${gateway}; an administrator and a user signed in`);
  const passes: Pass[] = [
    { name: "admin", token: admin.token, args: [] },
    // Administrators' operations as a plain user: 403 everywhere, declared or not.
    {
      name: "user",
      token: user.token,
      args: ["--phases", "examples,coverage,fuzzing", "--max-examples", "10"],
    },
  ];
  for (const pass of passes) {
    say(`pass "${pass.name}" …`);
    codes[pass.name] = await runPass(gateway, pass);
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
