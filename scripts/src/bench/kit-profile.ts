/**
 * Where the kit's CPU goes (issue 14): `node --cpu-prof` profiles of `getProduct`,
 * `getCurrentUser` and `createProduct` under load on the service that owns each (products,
 * users) and on the Fastify reference, each restricted to its measured run (no start-up, no
 * warm-up) and charged by category (see profile-categories.ts), in µs per request.
 *
 * `--cpu-prof` cannot come through `NODE_OPTIONS`, so the profiled service is a second instance
 * started beside the system's, with that process's own environment (read from
 * `/proc/<pid>/environ`) on another port: same code, same database, same configuration.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataRoot } from "../paths.js";
import { type BenchChild, Stack, startNodeChild } from "./children.js";
import { cpuProfilesIn } from "./gateway-cost.js";
import { kitTargets, startKitSystem, startReferenceOn } from "./kit-cost.js";
import { type LoadTarget, runLoad } from "./load.js";
import { groupCpuMilliseconds, pidListeningOn } from "./memory.js";
import { type CategorisedProfile, categoriseProfile } from "./profile-categories.js";
import type { RunSettings } from "./runner.js";

/** One profiled server under the same load. */
export interface ProfiledRun {
  /** Requests answered (any status) in the profiled run. */
  requests: number;
  requestsPerSecond: number;
  /** CPU time of the whole process per request during the run (from /proc), in µs. */
  cpuMicrosPerRequest: number;
  profile: CategorisedProfile;
}

/** One operation profiled on both servers. */
export interface ProfiledOperation {
  /** The operationId, e.g. `getProduct`. */
  operation: string;
  /** The service that owns it (the kit side's process). */
  service: string;
  kit: ProfiledRun;
  reference: ProfiledRun;
}

/** What the kit-profile section measured. */
export interface KitProfileResult {
  operations: ProfiledOperation[];
}

/** The operations profiled (keys of {@link kitTargets}) and their owners, each on fresh servers. */
const PROFILED_OPERATIONS = [
  { operation: "getProduct", service: "products" },
  { operation: "getCurrentUser", service: "users" },
  { operation: "createProduct", service: "products" },
] as const;

/** The environment of process `pid` (`/proc/<pid>/environ`: NUL-separated `NAME=value`). */
async function environmentOf(pid: number): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, "utf8");
  const env: Record<string, string> = {};
  for (const entry of raw.split("\0")) {
    const equals = entry.indexOf("=");
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Warm-up, then a profiled run of `url` on `server` (started with `--cpu-prof-dir=dir`); stops
 * the server so it writes its profile, and categorises the run's window of it.
 * @throws Error when the server wrote no profile.
 */
async function profileRun(
  settings: RunSettings,
  server: BenchChild,
  dir: string,
  target: LoadTarget,
  keepAs: string,
): Promise<ProfiledRun> {
  const load = { connections: settings.connections };
  if (settings.warmupSeconds > 0) {
    await runLoad(target, { ...load, durationSeconds: settings.warmupSeconds });
  }
  const pgid = server.process.pid as number;
  const cpuBefore = await groupCpuMilliseconds(pgid);
  const from = monotonicMicros();
  const result = await runLoad(target, { ...load, durationSeconds: settings.durationSeconds });
  const to = monotonicMicros();
  const cpuMicrosPerRequest =
    (((await groupCpuMilliseconds(pgid)) - cpuBefore) * 1000) / result.total;
  await server.stop();
  // Thread 0 is the main thread (others, if any, are worker threads).
  const files = (await cpuProfilesIn(dir)).sort();
  const main = files.find((file) => /\.0\.\d+\.cpuprofile$/.test(file)) ?? files[0];
  if (!main) throw new Error(`${server.name} wrote no .cpuprofile`);
  await mkdir(join(dataRoot, "bench"), { recursive: true });
  await copyFile(main, join(dataRoot, "bench", keepAs)); // for Chrome DevTools
  const profile = await categoriseProfile(main, from, to);
  settings.say(
    `(kit-profile) ${server.name}: ${Math.round(result.requestsPerSecond)} req/s, ${Math.round(cpuMicrosPerRequest)} µs CPU/req profiled; ${profile.categories
      .slice(0, 4)
      .map((c) => `${c.name} ${((100 * c.micros) / profile.busyMicros).toFixed(0)} %`)
      .join(", ")}`,
  );
  return {
    requests: result.total,
    requestsPerSecond: result.requestsPerSecond,
    cpuMicrosPerRequest,
    profile,
  };
}

/** Profiles each of {@link PROFILED_OPERATIONS} on its service and on the reference. */
export async function profileKit(settings: RunSettings): Promise<KitProfileResult> {
  settings.say("kit-profile: starting users and products, then profiled servers per operation …");
  const stack = new Stack();
  const dir = await mkdtemp(join(tmpdir(), "portico-bench-kit-prof-"));
  stack.add(dir, () => rm(dir, { recursive: true, force: true }));
  try {
    const kit = await startKitSystem("bench-kit-profile");
    stack.add(kit, kit.system.stop);
    const environments = new Map<string, Record<string, string>>();
    for (const service of new Set(PROFILED_OPERATIONS.map((p) => p.service))) {
      const url = kit.system.urls.byProcess[service] as string;
      const pid = await pidListeningOn(Number(new URL(url).port));
      if (pid === undefined) throw new Error(`no process listens on ${url}`);
      environments.set(service, await environmentOf(pid));
    }
    const tokens = { admin: kit.admin.token, user: kit.user.token };
    const operations: ProfiledOperation[] = [];
    for (const { operation, service } of PROFILED_OPERATIONS) {
      const serviceDir = join(dir, `${service}-${operation}`);
      const profiled = await startNodeChild({
        name: `${service} (profiled)`,
        entry: `services/${service}/src/main.ts`,
        readyPath: "/readyz",
        nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${serviceDir}`],
        env: environments.get(service) as Record<string, string>,
      });
      stack.add(profiled, profiled.stop);
      const referenceDir = join(dir, `reference-${operation}`);
      const reference = await startReferenceOn(kit.system, [
        "--cpu-prof",
        `--cpu-prof-dir=${referenceDir}`,
      ]);
      stack.add(reference, reference.stop);
      operations.push({
        operation,
        service,
        kit: await profileRun(
          settings,
          profiled,
          serviceDir,
          kitTargets(profiled.url, kit.productId, tokens)[operation],
          `${service}-${operation}.cpuprofile`,
        ),
        reference: await profileRun(
          settings,
          reference,
          referenceDir,
          kitTargets(reference.url, kit.productId, tokens)[operation],
          `reference-${operation}.cpuprofile`,
        ),
      });
    }
    return { operations };
  } finally {
    await stack.stopAll();
  }
}
