/**
 * The fixed-response stub upstream of the benchmark (a bare `node:http` server, run as its own
 * process): every service of the public contract points at it, so what is measured through a proxy
 * is the proxy's cost and nothing else. It answers, whatever the method:
 *   GET /healthz, /readyz          → 200 `{"status":"ok"}` (the gateway's health checks)
 *   GET /.well-known/jwks.json     → the JWK Set in `STUB_JWKS` (so the gateway can verify tokens)
 *   anything else                  → 200 (201 for POST) with the fixed product in `STUB_BODY`
 * Environment: `PORT` (required), `HOST` (default 127.0.0.1), `STUB_JWKS`, `STUB_BODY` (JSON).
 * Prints `listening <port>` once bound.
 */
import { createServer } from "node:http";

const port = Number(process.env.PORT);
const host = process.env.HOST ?? "127.0.0.1";
const product = Buffer.from(process.env.STUB_BODY ?? "{}");
const jwks = Buffer.from(process.env.STUB_JWKS ?? '{"keys":[]}');
const health = Buffer.from('{"status":"ok"}');

const server = createServer((req, res) => {
  // Drain any request body, then answer with a precomputed buffer (no serialisation per request).
  req.resume();
  req.on("end", () => {
    const url = req.url ?? "/";
    const body =
      url === "/healthz" || url === "/readyz"
        ? health
        : url === "/.well-known/jwks.json"
          ? jwks
          : product;
    res.writeHead(req.method === "POST" && body === product ? 201 : 200, {
      "Content-Type": "application/json",
      "Content-Length": body.length,
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => process.stdout.write(`listening ${port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
