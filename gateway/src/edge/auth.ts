/**
 * Credentials at the gateway. The contract's security requirements are enforced by the kit's
 * `contractValidator` (bearer JWTs verified with jose against the users JWK Set; API keys asked of
 * the users service over NATS, cached for seconds). Here: the API-key verifier the gateway can
 * build, and who the caller is before validation, for per-principal rate limiting — with the same
 * per-request checks, so each credential is verified once.
 */
import {
  API_KEY_HEADER,
  type ApiKeyVerifier,
  type AuthRequest,
  apiKeyPrincipalOf,
  type BackgroundNats,
  bearerPrincipalOf,
  createApiKeyVerifier,
  HttpProblem,
  type Logger,
  type TokenVerifier,
} from "@portico/kit/core";

/**
 * The gateway's API-key verifier: asks the users service over `nats` (answers cached for
 * `ttlMs`; 503 while NATS or the users service does not answer). Without NATS every key is
 * refused with 401, and the log says why (at start and at the first refused key).
 */
export function gatewayApiKeyVerifier(
  nats: BackgroundNats | undefined,
  options: { ttlMs: number; logger: Logger },
): ApiKeyVerifier {
  const { logger } = options;
  if (!nats) {
    const why = "NATS_URL is not set: API keys cannot be verified and are refused with 401";
    logger.warn(why);
    let told = false;
    return async () => {
      if (!told) logger.warn(why);
      told = true;
      throw new HttpProblem(401, "The API key is invalid or revoked.", {
        headers: { "WWW-Authenticate": 'ApiKey realm="portico", header="X-API-Key"' },
      });
    };
  }
  return createApiKeyVerifier(() => nats.current(), {
    ttlMs: options.ttlMs,
    onUnavailable: (err) => logger.warn({ err }, "API key could not be verified"),
  });
}

/** Who is calling, as far as valid credentials tell (invalid ones count as anonymous). */
export type Caller =
  | { kind: "user"; id: string }
  | { kind: "apiKey"; id: string }
  | { kind: "anonymous" };

/**
 * The caller of `req`: the bearer token's subject when the token is valid, else the API key's id
 * when the key is, else anonymous — at once (no promise) when the request carries no credentials.
 * Never throws: the contract validator answers for bad or missing credentials afterwards (reusing
 * these checks).
 */
export function identifyCaller(
  req: AuthRequest,
  verifyToken: TokenVerifier,
  verifyApiKey: ApiKeyVerifier | undefined,
): Caller | Promise<Caller> {
  const hasToken = typeof req.headers.authorization === "string";
  if (!hasToken && typeof req.headers[API_KEY_HEADER] !== "string") return ANONYMOUS;
  return identifyByCredentials(req, verifyToken, verifyApiKey, hasToken);
}

const ANONYMOUS: Caller = Object.freeze({ kind: "anonymous" });

async function identifyByCredentials(
  req: AuthRequest,
  verifyToken: TokenVerifier,
  verifyApiKey: ApiKeyVerifier | undefined,
  hasToken: boolean,
): Promise<Caller> {
  if (hasToken) {
    const principal = await bearerPrincipalOf(req, verifyToken).catch(() => undefined);
    if (principal) return { kind: "user", id: principal.userId };
  }
  if (typeof req.headers[API_KEY_HEADER] === "string") {
    const principal = await apiKeyPrincipalOf(req, verifyApiKey).catch(() => undefined);
    if (principal?.apiKeyId) return { kind: "apiKey", id: principal.apiKeyId };
  }
  return { kind: "anonymous" };
}
