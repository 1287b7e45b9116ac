import type { ProvisionedState } from "./global-setup.js";

/** Jest globalTeardown: stops what globalSetup provisioned (nothing that came from env). */
export default async function globalTeardown(): Promise<void> {
  const key = "__porticoInfrastructure"; // STATE_KEY of global-setup.ts (not importable here)
  const state = (globalThis as Record<string, unknown>)[key] as ProvisionedState | undefined;
  if (!state) return;
  delete (globalThis as Record<string, unknown>)[key];
  state.removeSignalHandlers();
  await state.infrastructure.stop();
}
