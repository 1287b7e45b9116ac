/**
 * Handlers of the service-account API keys: createApiKey (the key is in this answer only),
 * listApiKeys (never the keys), revokeApiKey. Administrators only, by the contract.
 */
import type { UsersApi } from "@portico/contracts";
import {
  type Handlers,
  isUniqueViolation,
  type Kysely,
  keysetCursorAfter,
  notFound,
  type Principal,
  toPage,
  unauthorized,
} from "@portico/kit";
import { v7 as uuidv7 } from "uuid";
import { apiKeyPrefix, generateApiKey } from "../domain/api-keys.js";
import { findActiveApiKeys, insertApiKey, revokeApiKeyById } from "../store/api-keys.js";
import type { ApiKeyRow, UsersDatabase } from "../store/schema.js";

type Ops = UsersApi.operations;
/** An API key as the contract represents it (never the key itself). */
export type ApiKey = UsersApi.components["schemas"]["ApiKey"];

/** What the API-key handlers need. */
export interface ApiKeyHandlerDeps {
  db: Kysely<UsersDatabase>;
}

/** Page size when the request gives none (the contract's default). */
const DEFAULT_PAGE_SIZE = 20;

/** Attempts at drawing an unused lookup id (a collision is a 1-in-2^64 event). */
const CREATE_ATTEMPTS = 3;

/** The contract's representation of a stored key: no secret, no hash. */
export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: apiKeyPrefix(row.lookup_id),
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
  };
}

/** The administrator calling; the kit sets the principal on every operation here. */
function caller(principal: Principal | undefined): Principal {
  if (!principal) throw unauthorized();
  return principal;
}

/** Builds the API-key handlers. */
export function apiKeyHandlers(
  deps: ApiKeyHandlerDeps,
): Pick<Handlers<Ops>, "createApiKey" | "listApiKeys" | "revokeApiKey"> {
  return {
    async createApiKey({ body, principal }) {
      const createdBy = caller(principal).userId;
      for (let attempt = 1; ; attempt++) {
        const generated = generateApiKey();
        try {
          const row = await insertApiKey(deps.db, {
            id: uuidv7(),
            lookup_id: generated.lookupId,
            secret_hash: generated.secretHash,
            name: body.name,
            role: body.role,
            created_by: createdBy,
          });
          return {
            status: 201,
            body: { ...toApiKey(row), key: generated.key },
            headers: { "Cache-Control": "no-store" },
          };
        } catch (err) {
          if (!isUniqueViolation(err) || attempt >= CREATE_ATTEMPTS) throw err;
        }
      }
    },

    async listApiKeys({ query }) {
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      const after = keysetCursorAfter(query.cursor);
      const rows = await findActiveApiKeys(deps.db, { limit: limit + 1, after });
      const page = toPage(
        rows.map((row) => ({ ...row, createdAt: row.created_at })),
        limit,
        toApiKey,
      );
      return { status: 200, body: page };
    },

    async revokeApiKey({ path }) {
      if (!(await revokeApiKeyById(deps.db, path.apiKeyId))) {
        throw notFound("No API key with this id is active.");
      }
      return { status: 204 };
    },
  };
}
