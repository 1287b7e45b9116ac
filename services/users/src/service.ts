/**
 * Wiring of the users service, shared by `main.ts` and the integration tests: database and
 * migrations → signing key → app, with NATS (stream, queries, outbox relay) attached in the
 * background, so that the service serves HTTP, and registers users, while NATS is unreachable.
 * Nothing listens yet.
 */
import { loadContract, type UsersApi } from "@portico/contracts";
import {
  apiKeyVerifierFrom,
  connectNatsInBackground,
  createApp,
  createDatabase,
  createTokenVerifier,
  ensureStream,
  type Kysely,
  type Logger,
  migrateToLatest,
  type OutboxRelay,
  pingDatabase,
  serveQueries,
  startOutboxRelay,
} from "@portico/kit";
import { createLocalJWKSet } from "jose";
import type { Config } from "./config.js";
import { createUserEvents, USERS_STREAM } from "./events.js";
import { createHandlers } from "./handlers/index.js";
import { QUERY_SERVICE, userQueryHandlers } from "./queries.js";
import { storedApiKeyLookup } from "./security/api-keys.js";
import { createDeviceCookies } from "./security/device-cookie.js";
import { createPasswords } from "./security/passwords.js";
import {
  generateSigningKey,
  type PublishedJwkSet,
  publicJwkSet,
  type SigningKey,
  signingKeyFromJwk,
  signingKeyFromPem,
} from "./security/signing-key.js";
import { createTokenIssuer } from "./security/token-issuer.js";
import { migrations } from "./store/migrations/index.js";
import type { UsersDatabase } from "./store/schema.js";
import { ensureStoredSigningKey, newestStoredSigningKeys } from "./store/signing-keys.js";

/** A started (not yet listening) users service. */
export interface UsersService {
  app: ReturnType<typeof createApp>;
  /** The JWK Set the service publishes and verifies its own tokens with. */
  jwks: PublishedJwkSet;
  /**
   * Resolves once NATS is connected and the stream, the queries and the outbox relay are set
   * up (retried in the background until then); resolves at once after `close`.
   */
  natsAttached: Promise<void>;
  /** Stops the relay and the queries, drains NATS, ends the database pool. Idempotent. */
  close: () => Promise<void>;
}

/**
 * The signing key: `JWT_PRIVATE_KEY` when configured, else the key stored in the database
 * (created on first start), which every instance and restart shares.
 */
export async function resolveSigningKey(
  config: Pick<Config, "JWT_PRIVATE_KEY">,
  db: Kysely<UsersDatabase>,
): Promise<SigningKey> {
  if (config.JWT_PRIVATE_KEY) return signingKeyFromPem(config.JWT_PRIVATE_KEY);
  const stored = await ensureStoredSigningKey(db, generateSigningKey);
  return signingKeyFromJwk(stored.privateJwk);
}

/**
 * The key before the last rotation, published (not used to sign) so the tokens it signed still
 * verify: `JWT_PREVIOUS_PRIVATE_KEY` with a configured key, else the second newest stored key
 * (see `npm run rotate-signing-key`). Undefined when there is none or it is `current` itself.
 */
export async function resolvePreviousSigningKey(
  config: Pick<Config, "JWT_PRIVATE_KEY" | "JWT_PREVIOUS_PRIVATE_KEY">,
  db: Kysely<UsersDatabase>,
  current: SigningKey,
): Promise<SigningKey | undefined> {
  let previous: SigningKey | undefined;
  if (config.JWT_PRIVATE_KEY) {
    if (config.JWT_PREVIOUS_PRIVATE_KEY) {
      previous = await signingKeyFromPem(config.JWT_PREVIOUS_PRIVATE_KEY);
    }
  } else {
    const [, stored] = await newestStoredSigningKeys(db, 2);
    if (stored) previous = await signingKeyFromJwk(stored.privateJwk);
  }
  return previous && previous.kid !== current.kid ? previous : undefined;
}

/**
 * Starts the users service's dependencies and builds its app. NATS is not waited for.
 * @throws the first error of any step (database, migration, signing key); whatever was opened
 *   before it is closed again.
 */
export async function createService(config: Config, log: Logger): Promise<UsersService> {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const closer of closers.splice(0).reverse()) {
      await closer().catch((err: unknown) => log.error({ err }, "error while closing"));
    }
  };
  try {
    const db = createDatabase<UsersDatabase>(config.DATABASE_URL);
    closers.push(() => db.destroy());
    await migrateToLatest(db, migrations);
    const signingKey = await resolveSigningKey(config, db);
    const previousKey = await resolvePreviousSigningKey(config, db, signingKey);
    log.info({ kid: signingKey.kid, previousKid: previousKey?.kid }, "signing key loaded");

    let relay: OutboxRelay | undefined;
    const nats = connectNatsInBackground({
      url: config.NATS_URL,
      name: "users",
      log,
      attach: async (nc, defer) => {
        await ensureStream(nc, USERS_STREAM);
        defer((await serveQueries(nc, QUERY_SERVICE, userQueryHandlers(db), log)).stop);
        const started = startOutboxRelay({ db, nc, log });
        relay = started;
        defer(async () => {
          relay = undefined;
          await started.stop();
        });
      },
    });
    closers.push(nats.close);

    const jwks = publicJwkSet(previousKey ? [signingKey, previousKey] : [signingKey]);
    const policy = {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.TOKEN_TTL_SECONDS,
    };
    const app = createApp<UsersApi.operations>({
      contract: loadContract("users"),
      handlers: createHandlers({
        db,
        passwords: createPasswords(),
        adminEmails: config.ADMIN_EMAILS,
        events: createUserEvents(() => relay?.kick()),
        issueToken: createTokenIssuer(signingKey, policy),
        jwks,
        deviceCookies: createDeviceCookies(config.DEVICE_COOKIE_KEY),
        alwaysSecureCookies: config.NODE_ENV === "production",
      }),
      // Its own keys, in memory: no HTTP round trip to itself.
      verifyToken: createTokenVerifier({
        jwks: createLocalJWKSet(jwks),
        issuer: policy.issuer,
        audience: policy.audience,
      }),
      // Its own table: no NATS round trip, no cache (a revoked key stops here at once).
      verifyApiKey: apiKeyVerifierFrom(storedApiKeyLookup(db), (err) =>
        log.error({ err }, "API key lookup failed"),
      ),
      logger: log,
      validateResponses: config.NODE_ENV !== "production",
      // Not NATS: registrations succeed without it (their events wait in the outbox).
      readiness: { database: () => pingDatabase(db) },
    });
    let closing: Promise<void> | undefined;
    return {
      app,
      jwks,
      natsAttached: nats.ready.then(() => undefined),
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
