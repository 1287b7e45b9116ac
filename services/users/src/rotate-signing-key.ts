/**
 * `npm run rotate-signing-key -w @portico/users`: rotates the signing key kept in the database
 * (development and test, where JWT_PRIVATE_KEY is unset). Stores a fresh ES256 key as the newest;
 * each users instance signs with it from its next start and keeps publishing the key before it,
 * so tokens issued earlier verify until they expire. Verifiers (gateway, services) fetch the JWK
 * Set again when they meet the new `kid`. Reads DATABASE_URL; prints the new `kid`.
 * With JWT_PRIVATE_KEY, rotate by configuration instead: the new key in JWT_PRIVATE_KEY, the old
 * one in JWT_PREVIOUS_PRIVATE_KEY.
 */
import { createDatabase, loadConfig, migrateToLatest } from "@portico/kit";
import { configShape } from "./config.js";
import { generateSigningKey } from "./security/signing-key.js";
import { migrations } from "./store/migrations/index.js";
import type { UsersDatabase } from "./store/schema.js";
import { addStoredSigningKey } from "./store/signing-keys.js";

const { DATABASE_URL } = loadConfig({ DATABASE_URL: configShape.DATABASE_URL });
const db = createDatabase<UsersDatabase>(DATABASE_URL, 1);
try {
  await migrateToLatest(db, migrations);
  const key = await generateSigningKey();
  await addStoredSigningKey(db, key);
  process.stdout.write(`${key.kid}\n`);
} finally {
  await db.destroy();
}
