import { tsImport } from "tsx/esm/api";
import type * as Shutdown from "../infra/shutdown.js";
import type * as Provision from "./provision.js";

/** What globalSetup leaves on `globalThis` for globalTeardown. */
export interface ProvisionedState {
  infrastructure: Provision.Infrastructure;
  removeSignalHandlers: () => void;
}

/** The `globalThis` key under which globalSetup keeps {@link ProvisionedState}. */
export const STATE_KEY = "__porticoInfrastructure";

/**
 * Jest globalSetup: provisions NATS, PostgreSQL and the mail sink once per run (see
 * `provisionInfrastructure`) and exports them to the test workers through `process.env`:
 * `NATS_URL`, `DATABASE_URL` (server URL; use `createDatabase()` per test file), `SMTP_URL`,
 * `MAIL_API_URL`. Ctrl-C during the run stops what it started.
 *
 * Jest loads this file through Node's own ESM resolver, which cannot map `./x.js` to `./x.ts`, so
 * the implementation is imported with tsx (only packages may be imported statically here).
 */
export default async function globalSetup(): Promise<void> {
  const { provisionInfrastructure } = (await tsImport(
    "./provision.ts",
    import.meta.url,
  )) as typeof Provision;
  const { onShutdownSignal } = (await tsImport(
    "../infra/shutdown.ts",
    import.meta.url,
  )) as typeof Shutdown;
  const infrastructure = await provisionInfrastructure();
  process.env.NATS_URL = infrastructure.natsUrl;
  process.env.DATABASE_URL = infrastructure.databaseUrl;
  process.env.SMTP_URL = infrastructure.smtpUrl;
  process.env.MAIL_API_URL = infrastructure.mailApiUrl;
  const removeSignalHandlers = onShutdownSignal(async () => {
    await infrastructure.stop();
    return undefined;
  });
  const state: ProvisionedState = { infrastructure, removeSignalHandlers };
  (globalThis as Record<string, unknown>)[STATE_KEY] = state;
}
