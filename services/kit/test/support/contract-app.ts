/**
 * A service contract served by the kit's app with stand-in handlers (each records its
 * operationId), on an ephemeral port: for tests of rules the kit applies to every
 * operation whatever its handler does. Each answers 200 `{ operationId }`.
 */
import { createApp, operationIds } from "../../src/app.js";
import type { Handlers } from "../../src/handlers.js";
import { createLogger } from "../../src/logger.js";
import { listen } from "../../src/server.js";
import { createTestIssuer } from "../../src/testing.js";

/** A running contract app. */
export interface ContractApp {
  baseUrl: string;
  /** A bearer token with role `admin`, accepted by every operation. */
  adminToken: string;
  /** The operationIds whose handler ran, oldest first. */
  reached: string[];
  close: () => Promise<void>;
}

/** Serves `contract` with stand-in handlers (see the module comment). */
export async function startContractApp(contract: Record<string, unknown>): Promise<ContractApp> {
  const logger = createLogger("kit-contract-test", process.env.TEST_LOG_LEVEL ?? "silent");
  const issuer = await createTestIssuer();
  const reached: string[] = [];
  const handlers = Object.fromEntries(
    operationIds(contract).map((id) => [
      id,
      async () => {
        reached.push(id);
        return { status: 200, body: { operationId: id } };
      },
    ]),
  ) as unknown as Handlers<Record<string, never>>;
  const app = createApp({
    contract,
    handlers,
    verifyToken: issuer.verifyToken,
    logger,
    validateResponses: false,
    readiness: {},
  });
  const server = await listen(app, {
    port: 0,
    host: "127.0.0.1",
    log: logger,
    exitOnSignal: false,
  });
  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    adminToken: await issuer.tokenFor({ role: "admin" }),
    reached,
    close: server.close,
  };
}
