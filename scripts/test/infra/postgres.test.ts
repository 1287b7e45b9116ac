import { chmod, lstat, mkdir, readlink, rm, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import pg from "pg";
import { isInfraError } from "../../src/infra/errors.js";
import { getFreePort, isPortFree } from "../../src/infra/ports.js";
import { clusterLocation, startPostgres } from "../../src/infra/postgres.js";
import { isAlive, tempDir } from "../helpers.js";

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("startPostgres", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir("postgres");
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("initialises a cluster, creates the databases, serves queries and stops", async () => {
    const dataDir = `${dir.path}/cluster`;
    const port = await getFreePort();
    const server = await startPostgres({ dataDir, port, databases: ["alpha", "beta"] });
    expect(Object.keys(server.urls)).toEqual(["alpha", "beta"]);
    expect(server.urls.alpha).toBe(`postgres://postgres:portico@127.0.0.1:${port}/alpha`);

    for (const db of ["alpha", "beta"] as const) {
      const rows = await query<{ db: string }>(
        server.urls[db] ?? "",
        "SELECT current_database() AS db",
      );
      expect(rows).toEqual([{ db }]);
    }
    await query(
      server.urls.alpha ?? "",
      "CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)",
    );

    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    expect(await isPortFree(port)).toBe(true);
    await server.stop(); // idempotent

    // The same data dir is reused: data survives, only the missing database is created.
    const again = await startPostgres({ dataDir, databases: ["alpha", "gamma"] });
    try {
      expect(await query(again.urls.alpha ?? "", "SELECT id FROM kept")).toEqual([{ id: 42 }]);
      const names = await query<{ datname: string }>(
        again.serverUrl,
        "SELECT datname FROM pg_database WHERE datname IN ('alpha', 'beta', 'gamma') ORDER BY 1",
      );
      expect(names.map((row) => row.datname)).toEqual(["alpha", "beta", "gamma"]);
    } finally {
      await again.stop();
    }
  }, 60_000);

  it("refuses a non-empty directory that holds no cluster", async () => {
    await writeFile(`${dir.path}/stray.txt`, "not a cluster");
    const error = await startPostgres({ dataDir: dir.path, databases: [] }).catch(
      (e: unknown) => e,
    );
    expect(isInfraError(error)).toBe(true);
    expect((error as Error).message).toContain("holds no PostgreSQL cluster");
  });

  it("reports PostgreSQL's own log when the port is taken", async () => {
    const first = await startPostgres({
      dataDir: `${dir.path}/one`,
      databases: [],
      durable: false,
    });
    try {
      const error = await startPostgres({
        dataDir: `${dir.path}/two`,
        port: first.port,
        databases: [],
        durable: false,
      }).catch((e: unknown) => e);
      expect(isInfraError(error)).toBe(true);
      expect((error as Error).message).toContain("Address already in use");
    } finally {
      await first.stop();
    }
  }, 60_000);
});

describe("clusterLocation", () => {
  // An OS user that owns nothing here: it passes only directories open to "others".
  const stranger = { uid: 2_000_000_001, gid: 2_000_000_001 };
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir("cluster-location");
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("keeps a directory the user can reach", async () => {
    const requested = `${dir.path}/open/postgres`;
    expect(await clusterLocation(requested, stranger)).toEqual({ dir: requested });
  });

  it("moves the cluster of a closed directory to /var/tmp and links the requested path to it", async () => {
    await mkdir(`${dir.path}/closed`, { mode: 0o700 });
    await chmod(`${dir.path}/closed`, 0o700);
    const requested = `${dir.path}/closed/clone/.data/postgres`;
    const first = await clusterLocation(requested, stranger);
    try {
      expect(first.dir).toMatch(/^\/var\/tmp\/portico-postgres-[0-9a-f]{12}$/);
      expect(first.relocated).toContain(`cannot enter ${dir.path}/closed (mode 700)`);
      expect((await lstat(requested)).isSymbolicLink()).toBe(true);
      expect(await readlink(requested)).toBe(first.dir);

      // The next start follows the link: same place, nothing to explain.
      await mkdir(first.dir, { recursive: true });
      await writeFile(`${first.dir}/kept`, "");
      expect(await clusterLocation(requested, stranger)).toEqual({ dir: first.dir });
      expect((await lstat(`${first.dir}/kept`)).isFile()).toBe(true);

      // Deleting the link asks for a fresh start: the old cluster goes.
      await rm(requested);
      expect(await clusterLocation(requested, stranger)).toEqual(first);
      expect(await lstat(`${first.dir}/kept`).catch(() => undefined)).toBeUndefined();
    } finally {
      await rm(first.dir, { recursive: true, force: true });
    }
  });

  it("refuses to move a cluster that already lives in a closed directory", async () => {
    const requested = `${dir.path}/closed/old/postgres`;
    await mkdir(requested, { recursive: true });
    await writeFile(`${requested}/PG_VERSION`, "17\n");
    const error = await clusterLocation(requested, stranger).catch((e: unknown) => e);
    expect(isInfraError(error)).toBe(true);
    expect((error as Error).message).toContain(`chmod o+x ${dir.path}/closed`);
  });
});
