/**
 * The ceiling for one proxy hop in Node: a bare `node:http` reverse proxy with one keep-alive agent,
 * no routing, no validation, no logging (run as its own process). Request and response bodies are
 * piped through untouched; hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded.
 * Environment: `PORT` (required), `HOST` (default 127.0.0.1), `UPSTREAM_URL` (required, e.g.
 * `http://127.0.0.1:4000`). Prints `listening <port>` once bound.
 */
import http from "node:http";
// The gateway's list (a module without imports: this proxy stays bare).
import { HOP_BY_HOP_HEADERS } from "../../../../gateway/src/upstreams/hop-by-hop.js";

const port = Number(process.env.PORT);
const host = process.env.HOST ?? "127.0.0.1";
const upstream = new URL(process.env.UPSTREAM_URL ?? "");
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP_HEADERS.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}

const server = http.createServer((req, res) => {
  const proxyReq = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      agent,
    },
    (proxyRes) => {
      res.writeHead(proxyRes.statusCode ?? 502, endToEnd(proxyRes.headers));
      proxyRes.pipe(res);
    },
  );
  proxyReq.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(proxyReq);
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => process.stdout.write(`listening ${port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
