/**
 * nginx (Debian package `nginx`) as a plain reverse proxy for the benchmark: installed with
 * apt-get when missing, run in the foreground as a child (`daemon off`, no system service) with a
 * generated configuration, pid file, temp paths and error log in a temporary directory.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { InfraError } from "../infra/errors.js";
import { getFreePort } from "../infra/ports.js";
import { type ManagedProcess, spawnManaged, waitForProcessReady } from "../infra/process.js";
import { findExecutable } from "../infra/which.js";

const run = promisify(execFile);

/** Where Debian installs nginx (sbin is not on every PATH). */
const SBIN_PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;

/**
 * The nginx binary, installed from Debian's packages when missing (`apt-get install nginx`, as
 * root or through sudo).
 * @returns its path and version line.
 * @throws InfraError when it cannot be installed.
 */
export async function ensureNginx(): Promise<{ binary: string; version: string }> {
  let binary = await findExecutable("nginx", SBIN_PATH);
  if (!binary) {
    const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
    const apt = async (...args: string[]) => {
      const [command, ...rest] = [...sudo, "apt-get", ...args];
      await run(command as string, rest, {
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        maxBuffer: 64 * 1024 * 1024,
      });
    };
    try {
      await apt("update", "-qq");
      await apt("install", "-y", "-qq", "nginx");
    } catch (error) {
      throw new InfraError(`nginx is missing and apt-get could not install it: ${error}`);
    }
    binary = await findExecutable("nginx", SBIN_PATH);
    if (!binary) throw new InfraError("apt-get installed nginx but it is not on PATH");
  }
  const { stderr } = await run(binary, ["-v"]);
  return { binary, version: stderr.trim().replace(/^nginx version:\s*/, "") };
}

/** The configuration of {@link startNginx}: one worker, access log off, pooled upstream sockets. */
export function nginxConfig(dir: string, port: number, upstream: URL): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "client_body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  keepalive_requests 1000000;
  upstream stub {
    server ${upstream.hostname}:${upstream.port};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** A running nginx. */
export interface NginxProxy {
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Starts nginx proxying everything to `upstream` on a free loopback port, with its files in `dir`,
 * and waits until it forwards `GET <readyPath>` with 200.
 * @throws InfraError with nginx's last output lines when it fails to start.
 */
export async function startNginx(
  binary: string,
  dir: string,
  upstream: URL,
  readyPath: string,
): Promise<NginxProxy> {
  await mkdir(dir, { recursive: true });
  const port = await getFreePort();
  const config = join(dir, "nginx.conf");
  await writeFile(config, nginxConfig(dir, port, upstream));
  const proc = spawnManaged({
    name: "nginx",
    command: binary,
    args: ["-e", join(dir, "error.log"), "-p", dir, "-c", config],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForProcessReady(proc, `${url}${readyPath}`, 15_000);
  } catch (error) {
    await proc.stop(1000);
    throw error;
  }
  return {
    url,
    process: proc,
    stop: async () => {
      // SIGQUIT is nginx's graceful stop; the group SIGTERM of stop() is a fast one: fine here.
      await proc.stop(5000);
    },
  };
}
