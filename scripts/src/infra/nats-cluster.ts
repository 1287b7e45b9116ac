/**
 * A NATS cluster on this machine: N `nats-server -js` processes on loopback, each with its own
 * JetStream store, server name and cluster port, routed to all the others, so streams can be
 * replicated (`num_replicas` up to N) and a node can be killed and restarted in tests.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { InfraError } from "./errors.js";
import { NATS_INSTALL_HINT } from "./nats.js";
import { getFreePort } from "./ports.js";
import {
  type ExitInfo,
  type LogSink,
  type ManagedProcess,
  spawnManaged,
  waitForProcessReady,
} from "./process.js";
import { findExecutable } from "./which.js";

/** Options of {@link startNatsCluster}. */
export interface StartNatsClusterOptions {
  /** Parent of the nodes' JetStream stores (`<storeDir>/<server name>`, created if missing). */
  storeDir: string;
  /** Number of nodes. Default 3 (JetStream needs a majority: 3 nodes survive the loss of one). */
  size?: number;
  /** `--cluster_name`; node `i` is named `<clusterName>-<i>` (1-based). Default `portico`. */
  clusterName?: string;
  /** Address every node binds (clients, routes, monitoring). Default 127.0.0.1. */
  host?: string;
  /** Where the nodes' log lines go (names `nats-<server name>`). Default: dropped. */
  log?: LogSink;
  /** How long the cluster may take to elect a JetStream meta leader. Default 30 000 ms. */
  readyTimeoutMs?: number;
  /** PATH-style list of directories searched for `nats-server`. Default `process.env.PATH`. */
  searchPath?: string;
}

/** One node of a {@link NatsCluster}. */
export interface NatsClusterNode {
  /** `--server_name`, e.g. `portico-2`. */
  readonly name: string;
  /** Client URL, e.g. `nats://127.0.0.1:4222`. */
  readonly url: string;
  /** Monitoring URL, e.g. `http://127.0.0.1:8222`. */
  readonly monitorUrl: string;
  /** OS process id while it runs. */
  pid(): number | undefined;
  /** Whether its process is running. */
  running(): boolean;
  /** SIGKILL (no clean shutdown, as a crash); resolves once it has exited. */
  kill(): Promise<ExitInfo>;
  /** Starts it again (same ports and store) after a kill or stop; resolves once it is healthy. */
  restart(): Promise<void>;
  /** SIGTERM, awaits exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
}

/** A running NATS cluster. */
export interface NatsCluster {
  nodes: readonly NatsClusterNode[];
  /** Every node's client URL, comma-separated, as `NATS_URL` takes them. */
  urls: string;
  /** The server name of the current JetStream meta leader, asked of any running node. */
  metaLeader(): Promise<string | undefined>;
  /** Stops every node. Idempotent. */
  stop(): Promise<void>;
}

/** The part of a node's `/jsz` monitoring answer read here. */
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

/** The JetStream meta group as `monitorUrl` sees it, or `undefined` when it does not answer. */
async function metaClusterOf(monitorUrl: string): Promise<Jsz["meta_cluster"] | undefined> {
  try {
    const response = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(1_000) });
    if (!response.ok) return undefined;
    return ((await response.json()) as Jsz).meta_cluster;
  } catch {
    return undefined;
  }
}

/**
 * Starts a cluster of `size` nats-server processes with JetStream and waits until every node is
 * healthy and they agree on a meta leader with all `size` peers. Throws {@link InfraError} with
 * {@link NATS_INSTALL_HINT} when `nats-server` is missing, or naming the node (with its last log
 * lines) that exits or is not ready in time; every node is stopped first.
 */
export async function startNatsCluster(options: StartNatsClusterOptions): Promise<NatsCluster> {
  const binary = await findExecutable("nats-server", options.searchPath);
  if (!binary) throw new InfraError(NATS_INSTALL_HINT);
  const size = options.size ?? 3;
  const host = options.host ?? "127.0.0.1";
  const clusterName = options.clusterName ?? "portico";
  const timeoutMs = options.readyTimeoutMs ?? 30_000;

  const ports: { client: number; cluster: number; monitor: number }[] = [];
  for (let i = 0; i < size; i += 1) {
    ports.push({
      client: await getFreePort(host),
      cluster: await getFreePort(host),
      monitor: await getFreePort(host),
    });
  }
  const routeOf = (port: number) => `nats://${host}:${port}`;

  const nodes = ports.map((port, i) => {
    const name = `${clusterName}-${i + 1}`;
    const storeDir = join(options.storeDir, name);
    const routes = ports.filter((_, j) => j !== i).map((other) => routeOf(other.cluster));
    const args = [
      "-js",
      "-a",
      host,
      "-p",
      String(port.client),
      "-m",
      String(port.monitor),
      "-sd",
      storeDir,
      "--server_name",
      name,
      "--cluster_name",
      clusterName,
      "--cluster",
      routeOf(port.cluster),
      "--routes",
      routes.join(","),
    ];
    const monitorUrl = `http://${host}:${port.monitor}`;
    let proc: ManagedProcess | undefined;

    const spawn = async () => {
      await mkdir(storeDir, { recursive: true });
      proc = spawnManaged({ name: `nats-${name}`, command: binary, args, log: options.log });
      await waitForProcessReady(proc, `${monitorUrl}/healthz?js-enabled-only=true`, timeoutMs);
    };
    const node: NatsClusterNode & { spawn: () => Promise<void> } = {
      name,
      url: `nats://${host}:${port.client}`,
      monitorUrl,
      pid: () => (proc?.exitInfo() ? undefined : proc?.pid),
      running: () => proc !== undefined && proc.exitInfo() === undefined,
      spawn,
      kill: async () => {
        if (!proc) throw new InfraError(`${name} was never started`);
        const pid = proc.pid;
        if (pid !== undefined && !proc.exitInfo()) process.kill(-pid, "SIGKILL");
        return proc.exited;
      },
      restart: async () => {
        if (node.running()) throw new InfraError(`${name} is still running`);
        await spawn();
      },
      stop: async () => {
        await proc?.stop(10_000);
      },
    };
    return node;
  });

  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    await Promise.all(nodes.map((node) => node.spawn()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const views = await Promise.all(nodes.map((node) => metaClusterOf(node.monitorUrl)));
      const leaders = new Set(views.map((view) => view?.leader));
      const [leader] = leaders;
      if (leaders.size === 1 && leader && views.every((view) => view?.cluster_size === size)) {
        break;
      }
      if (Date.now() > deadline) {
        throw new InfraError(
          `the NATS cluster elected no JetStream meta leader within ${timeoutMs} ms (views: ${JSON.stringify(views)})`,
        );
      }
      await delay(200);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    nodes,
    urls: nodes.map((node) => node.url).join(","),
    metaLeader: async () => {
      for (const node of nodes.filter((candidate) => candidate.running())) {
        const leader = (await metaClusterOf(node.monitorUrl))?.leader;
        if (leader) return leader;
      }
      return undefined;
    },
    stop,
  };
}
