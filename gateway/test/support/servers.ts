/**
 * Real HTTP servers for the gateway's integration tests: recording stand-ins for the services, a
 * JWK Set server that also signs tokens, and a port with nothing listening.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

/** One request as an upstream received it. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, as sent by the gateway. */
  url: string;
  headers: IncomingMessage["headers"];
  /** The body bytes exactly as received. */
  body: Buffer;
  /** The gateway's local port of the connection (equal across requests on a kept-alive socket). */
  remotePort: number | undefined;
}

/** Answers a recorded request; the default replies 200 JSON naming the service. */
export type Responder = (req: ReceivedRequest, res: ServerResponse) => void;

/** A running stand-in for a service. */
export interface FakeUpstream {
  url: string;
  received: ReceivedRequest[];
  /** Replace to change how the next requests are answered. */
  respond: Responder;
  close: () => Promise<void>;
}

async function listenOnFreePort(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Starts an upstream that records every request and answers with its `respond` function.
 * @param port where to listen (e.g. the port of an upstream that was closed); default: a free one.
 */
export async function startUpstream(service: string, port = 0): Promise<FakeUpstream> {
  const defaultResponder: Responder = (_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json", "X-Upstream": service });
    res.end(JSON.stringify({ service }));
  };
  const received: ReceivedRequest[] = [];
  const upstream: FakeUpstream = {
    url: "",
    received,
    respond: defaultResponder,
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const record: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
        remotePort: req.socket.remotePort,
      };
      if (record.url !== "/healthz") received.push(record);
      if (record.url === "/healthz") {
        res.writeHead(200, { "Content-Type": "application/json" }).end('{"status":"ok"}');
        return;
      }
      upstream.respond(record, res);
    });
  });
  upstream.url = await listenOnFreePort(server, port);
  upstream.close = () => closeServer(server);
  return upstream;
}

/** Claims for {@link FakeJwks.sign}. */
export interface TokenClaims {
  sub: string;
  role: string;
  email: string;
}

/** A JWK Set server (RFC 7517) and the private key matching it. */
export interface FakeJwks {
  /** URL of the JWK Set document. */
  url: string;
  /** Signs an ES256 access token (iss `portico`, aud `portico-api`, 15 minutes). */
  sign: (claims: TokenClaims, options?: { issuer?: string; expiresIn?: string }) => Promise<string>;
  close: () => Promise<void>;
}

/** Starts a server publishing a fresh ES256 public key at `/.well-known/jwks.json`. */
export async function startJwks(): Promise<FakeJwks> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "ES256", use: "sig" };
  const server = createServer((req, res) => {
    if (req.url !== "/.well-known/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  const base = await listenOnFreePort(server);
  return {
    url: `${base}/.well-known/jwks.json`,
    sign: ({ sub, role, email }, options = {}) =>
      new SignJWT({ role, email })
        .setProtectedHeader({ alg: "ES256", kid: "test-key" })
        .setSubject(sub)
        .setIssuer(options.issuer ?? "portico")
        .setAudience("portico-api")
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "15m")
        .sign(privateKey),
    close: () => closeServer(server),
  };
}

/** The URL of a local port that was free a moment ago: connecting to it is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  const url = await listenOnFreePort(server);
  await closeServer(server);
  return url;
}

/** Listens on a free local port and returns its base URL and a closer. */
export async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  const url = await listenOnFreePort(server);
  return { url, close: () => closeServer(server) };
}
