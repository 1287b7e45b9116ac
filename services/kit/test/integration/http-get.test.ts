/**
 * getOnce and jwksFetch against a real HTTP server: the body read whole, redirects not followed,
 * a deadline that fires while the server is silent, a refused connection named by its code, and
 * jose's remote key set verifying a token through jwksFetch.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from "jose";
import { getOnce, jwksFetch } from "../../src/http-get.js";

let server: Server;
let base: string;
let jwks: { keys: unknown[] };
let privateKey: CryptoKey;
const seenHeaders: Record<string, string | string[] | undefined>[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" }] };
  server = createServer((req, res) => {
    seenHeaders.push(req.headers);
    if (req.url === "/jwks") res.writeHead(200, { "Content-Type": "application/json" });
    else if (req.url === "/moved") res.writeHead(302, { Location: "/jwks" });
    else if (req.url === "/silent")
      return; // never answers
    else res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(req.url === "/jwks" ? JSON.stringify(jwks) : "ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("getOnce", () => {
  it("returns the status and the whole body, sending the given headers", async () => {
    const result = await getOnce(`${base}/hello`, { headers: { "x-probe": "1" } });
    expect(result.status).toBe(200);
    expect(result.body.toString()).toBe("ok");
    expect(seenHeaders.at(-1)?.["x-probe"]).toBe("1");
  });

  it("does not follow a redirect", async () => {
    expect((await getOnce(`${base}/moved`)).status).toBe(302);
  });

  it("rejects with the signal's TimeoutError when the server stays silent", async () => {
    await expect(
      getOnce(`${base}/silent`, { signal: AbortSignal.timeout(100) }),
    ).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("names a refused connection by its code", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(getOnce(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
  });
});

describe("jwksFetch", () => {
  it("lets jose's remote key set fetch the JWK Set and verify a token", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setSubject("someone")
      .sign(privateKey);
    const remote = createRemoteJWKSet(new URL(`${base}/jwks`), { [customFetch]: jwksFetch });
    const { payload } = await jwtVerify(token, remote);
    expect(payload.sub).toBe("someone");
    expect(seenHeaders.at(-1)?.accept).toContain("application/json");
    // The same set, locally: the remote one saw exactly the published keys.
    await expect(jwtVerify(token, createLocalJWKSet(jwks as never))).resolves.toBeDefined();
  });
});
