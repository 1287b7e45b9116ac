/**
 * Accounts on a running system, obtained through its public API as a client would: register
 * (`POST /users`, a 409 means the account exists) and sign in (`POST /auth/token`, RFC 6749
 * section 4.3 password grant).
 */
import { NEW_PRODUCT_BODY } from "./gateway-cost.js";

/** A signed-in account. */
export interface Account {
  email: string;
  userId: string;
  /** The access token (a JWT), for `Authorization: Bearer <token>`. */
  token: string;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === "" ? undefined : JSON.parse(text) };
}

/**
 * Registers `email` (unless it exists) and issues it a token, through `baseUrl` (the gateway or
 * the users service).
 * @throws Error with the status and body when registration or sign-in fails.
 */
export async function signIn(baseUrl: string, email: string, password: string): Promise<Account> {
  const registered = await postJson(`${baseUrl}/users`, { email, password, name: email });
  if (registered.status !== 201 && registered.status !== 409) {
    throw new Error(
      `registering ${email}: ${registered.status} ${JSON.stringify(registered.json)}`,
    );
  }
  const issued = await postJson(`${baseUrl}/auth/token`, {
    grant_type: "password",
    username: email,
    password,
  });
  const token = (issued.json as { access_token?: string } | undefined)?.access_token;
  if (issued.status !== 200 || !token) {
    throw new Error(`signing in ${email}: ${issued.status} ${JSON.stringify(issued.json)}`);
  }
  const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
  return { email, userId: String(payload.sub), token };
}

/**
 * The benchmark's administrator (`adminEmail`, made admin by the users service's `ADMIN_EMAILS`)
 * and an ordinary user, registered and signed in through `baseUrl`.
 * @throws Error when registration or sign-in fails.
 */
export async function signInBenchAccounts(
  baseUrl: string,
  adminEmail: string,
): Promise<{ admin: Account; user: Account }> {
  const admin = await signIn(baseUrl, adminEmail, "bench-admin-password");
  const user = await signIn(baseUrl, "bench-user@example.com", "bench-user-password");
  return { admin, user };
}

/**
 * Creates the product the benchmark reads (`NEW_PRODUCT_BODY`) through `baseUrl` as `admin`.
 * @returns its id.
 * @throws Error with the status and body when it is not created.
 */
export async function createBenchProduct(baseUrl: string, admin: Account): Promise<string> {
  const created = await fetch(`${baseUrl}/products`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
    body: NEW_PRODUCT_BODY,
  });
  if (created.status !== 201) {
    throw new Error(`creating the benchmark product: ${created.status} ${await created.text()}`);
  }
  return ((await created.json()) as { id: string }).id;
}
