/**
 * Verification of service accounts' API keys against the stored hashes: the answer of the NATS
 * query `users.query.verifyApiKey` (asked by the gateway and the other services) and of this
 * service's own `apiKeyAuth` checks.
 */
import type { ApiKeyLookup, ApiKeyRecord, Kysely } from "@portico/kit";
import { parseApiKey, secretMatches } from "../domain/api-keys.js";
import { findActiveApiKeyByLookupId } from "../store/api-keys.js";
import type { UsersDatabase } from "../store/schema.js";

/**
 * The record of `apiKey` — id, name, role — when it is well-formed, stored, not revoked, and its
 * secret matches the stored hash; else null (the caller learns nothing about which check failed).
 */
export async function verifyStoredApiKey(
  db: Kysely<UsersDatabase>,
  apiKey: string,
): Promise<ApiKeyRecord> {
  const parsed = parseApiKey(apiKey);
  if (!parsed) return null;
  const row = await findActiveApiKeyByLookupId(db, parsed.lookupId);
  if (!row || !secretMatches(parsed.secret, row.secret_hash)) return null;
  return { apiKeyId: row.id, name: row.name, role: row.role };
}

/** {@link verifyStoredApiKey} as a kit lookup: no cache, so a revocation applies at once here. */
export function storedApiKeyLookup(db: Kysely<UsersDatabase>): ApiKeyLookup {
  return (apiKey) => verifyStoredApiKey(db, apiKey);
}
