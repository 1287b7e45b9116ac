/**
 * Idle upstream connections: an upstream that announces no keep-alive limit (uvicorn sends no
 * `Keep-Alive: timeout=N`) and closes idle sockets later (uvicorn: after its keep-alive timeout)
 * must not be sent a request on a socket it is about to close. The gateway's agent lets a free
 * socket go after 4 s of idleness, so the next request opens a new connection.
 */
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";
import {
  allHealthy,
  type RunningGateway,
  startGateway,
  startUpstreams,
  type Upstreams,
} from "../support/gateway.js";
import { serve } from "../support/servers.js";

const PUBLIC = loadContract("public");

let upstreams: Upstreams;
let gateway: RunningGateway;
let silentUpstream: { url: string; close: () => Promise<void> };
/** The client port of each request the silent upstream answered (not its health checks). */
const ports: (number | undefined)[] = [];

beforeAll(async () => {
  upstreams = await startUpstreams(PUBLIC);
  silentUpstream = await serve((req, res) => {
    if (req.url !== "/healthz" && req.url !== "/readyz") ports.push(req.socket.remotePort);
    // An explicit Connection header keeps Node's server from announcing its keep-alive limit.
    res.writeHead(200, { "Content-Type": "application/json", Connection: "keep-alive" });
    res.end("[]");
  });
  gateway = await startGateway(upstreams, { [upstreamEnvVar("products")]: silentUpstream.url });
  expect(await allHealthy(gateway.gateway)).toBe(true);
});

afterAll(async () => {
  await gateway?.close();
  await silentUpstream?.close();
  await upstreams?.close();
});

it("opens a new upstream connection after 4 s idle when the upstream announces no limit", async () => {
  expect((await fetch(`${gateway.url}/products`)).status).toBe(200);
  expect((await fetch(`${gateway.url}/products`)).status).toBe(200);
  await delay(5_000);
  expect((await fetch(`${gateway.url}/products`)).status).toBe(200);

  expect(ports).toHaveLength(3);
  expect(ports[1]).toBe(ports[0]); // kept alive between requests close together
  expect(ports[2]).not.toBe(ports[0]); // the idle socket was let go, not reused
});
