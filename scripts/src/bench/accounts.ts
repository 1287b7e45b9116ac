/**
 * Accounts on a running system, obtained through its public API as a client would: register
 * (`POST /users`, a 409 means the account exists) and sign in (`POST /auth/token`, RFC 6749
 * section 4.3 password grant).
 */

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
