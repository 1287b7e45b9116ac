/**
 * The whole system for end-to-end tests: every service and the gateway as separate processes,
 * started exactly as `npm start` does, on free ports. It gets its own nats-server and SMTP sink
 * (so no other test file's consumers, queue groups or mail interfere) and fresh databases on the
 * PostgreSQL server of the test run (`DATABASE_URL`, from jest's globalSetup).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNats } from "../infra/nats.js";
import { getFreePort } from "../infra/ports.js";
import { fileSink } from "../infra/process.js";
import { startSmtpSink } from "../infra/smtp.js";
import { dataRoot } from "../paths.js";
import { type RunningSystem, SYSTEM_PROCESSES, type SystemUrls, startSystem } from "../system.js";
import { createDatabase } from "./provision.js";

/** A running test system; `logFile` holds every process's output. */
export interface TestSystem {
  urls: SystemUrls & { mailApi: string };
  /** The administrator address configured in the users service's ADMIN_EMAILS. */
  adminEmail: string;
  logFile: string;
  stop(): Promise<void>;
  /** Stops one process of the system, e.g. `notifications` (see RunningSystem.stopProcess). */
  stopProcess: RunningSystem["stopProcess"];
  /** Starts a stopped process again and waits until it is ready (RunningSystem.startProcess). */
  startProcess: RunningSystem["startProcess"];
}

/**
 * Starts NATS, the SMTP sink and every process of the system.
 * @param name names the log file (`.data/test-logs/<name>.log`) and the databases' prefix.
 * @throws Error naming the process that failed to become ready (its last log lines included).
 */
export async function startTestSystem(name: string): Promise<TestSystem> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), `portico-${name}-`));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const nats = await startNats({ storeDir: join(dir, "nats") });
    stops.push(nats.stop);
    const smtp = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
    stops.push(smtp.stop);

    const databaseUrls: Record<string, string> = {};
    const ports: Record<string, number> = {};
    for (const spec of SYSTEM_PROCESSES) {
      if (spec.database)
        databaseUrls[spec.database] = await createDatabase(`${name}_${spec.database}`);
      ports[spec.name] = await getFreePort();
    }

    await mkdir(join(dataRoot, "test-logs"), { recursive: true });
    const logFile = join(dataRoot, "test-logs", `${name}.log`);
    const log = fileSink(logFile);
    stops.push(log.close);
    const adminEmail = "admin@portico.local";
    const system: RunningSystem = await startSystem({
      natsUrl: nats.url,
      databaseUrls,
      smtpUrl: smtp.smtpUrl,
      mailApiUrl: smtp.apiUrl,
      ports,
      nodeEnv: "test",
      logLevel: "info",
      envByProcess: { users: { ADMIN_EMAILS: adminEmail } },
      log: log.sink,
    });
    stops.push(system.stop);
    return {
      urls: { ...system.urls, mailApi: smtp.apiUrl },
      adminEmail,
      logFile,
      stop: stopAll,
      stopProcess: system.stopProcess,
      startProcess: system.startProcess,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
