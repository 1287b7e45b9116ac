/**
 * The breaking-change gate on a temporary copy of the contracts: a release of the copy is the
 * baseline; breaking edits are each named, additive ones pass, and a release records them.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { parse, stringify } from "yaml";
import { describeBreakingChange, findBreakingChanges } from "../../src/contracts/compat.js";
import { releaseContracts } from "../../src/contracts/release.js";
import { repoRoot } from "../../src/paths.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests edit free-form YAML
type Yaml = Record<string, any>;

let dir: string;
let baseline: Map<string, string>;
const folders = () => ({
  contractsDir: join(dir, "contracts"),
  releasedDir: join(dir, "released"),
  changelogFile: join(dir, "api-changelog.md"),
});

/** Edits one YAML contract of the copy. */
async function edit(file: string, change: (doc: Yaml) => void): Promise<void> {
  const path = join(dir, "contracts", file);
  const doc = parse(await readFile(path, "utf8")) as Yaml;
  change(doc);
  await writeFile(path, stringify(doc));
}

/** Puts the copy's contracts back as they were released. */
async function restore(): Promise<void> {
  for (const [file, text] of baseline) await writeFile(join(dir, "contracts", file), text);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portico-compat-"));
  const source = join(repoRoot, "contracts");
  baseline = new Map();
  for (const file of (await readdir(source)).filter((name) => name.endsWith(".yaml"))) {
    await cp(join(source, file), join(dir, "contracts", file));
    baseline.set(file, await readFile(join(source, file), "utf8"));
  }
  await releaseContracts({ ...folders(), date: "2026-01-01" });
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("npm run contracts:compat", () => {
  it("names each breaking change: a removed operation, a new required request field, a removed event field", async () => {
    await edit("products.yaml", (doc) => {
      delete doc.paths["/products/{productId}"].delete;
    });
    await edit("users.yaml", (doc) => {
      const schema = doc.components.schemas.RegisterUserRequest;
      schema.properties.nickname = { type: "string" };
      schema.required.push("nickname");
    });
    await edit("events.yaml", (doc) => {
      const schema = doc.components.schemas.ProductBackInStockData;
      delete schema.properties.name;
      schema.required = schema.required.filter((field: string) => field !== "name");
    });
    const messages = (await findBreakingChanges(folders())).map(describeBreakingChange);
    await restore();
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^public API: DELETE \/products\/\{productId\}: .*removed/),
        expect.stringMatching(
          /^public API: POST \/users: .*required.*nickname.*\[new-required-request-property\]/,
        ),
        expect.stringMatching(
          /^event payloads: event products\.product\.back_in_stock: .*data\/name.*as consumers receive it.*\[response-required-property-removed\]/,
        ),
      ]),
    );
  }, 180_000);

  it("passes additive changes (a new optional field, a new operation) and a release records them", async () => {
    await edit("users.yaml", (doc) => {
      doc.components.schemas.RegisterUserRequest.properties.nickname = { type: "string" };
    });
    await edit("products.yaml", (doc) => {
      doc.paths["/products/{productId}/related"] = {
        get: {
          ...doc.paths["/products/{productId}"].get,
          operationId: "listRelatedProducts",
        },
      };
    });
    expect((await findBreakingChanges(folders())).map(describeBreakingChange)).toEqual([]);
    const section = await releaseContracts({ ...folders(), date: "2026-02-01" });
    await restore();
    expect(section).toMatch(/## 2026-02-01/);
    expect(section).toMatch(/GET \/products\/\{productId\}\/related/);
    const changelog = await readFile(folders().changelogFile, "utf8");
    expect(changelog.indexOf("## 2026-01-01")).toBeLessThan(changelog.indexOf("## 2026-02-01"));
  }, 180_000);
});
