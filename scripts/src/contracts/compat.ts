/**
 * The breaking-change gate: each snapshot (public API, event payloads) built from the contracts
 * now, compared by oasdiff with the released baseline in `contracts/released/`.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../paths.js";
import { type OasdiffChange, oasdiff } from "./oasdiff.js";
import { EVENTS_SNAPSHOT, SNAPSHOTS, type Snapshot, snapshotText } from "./snapshots.js";

/** The contracts' source folder and the released baseline. */
export interface ContractFolders {
  contractsDir: string;
  releasedDir: string;
}

/** The default folders: `contracts/` and `contracts/released/`. */
export const DEFAULT_FOLDERS: ContractFolders = {
  contractsDir: join(repoRoot, "contracts"),
  releasedDir: join(repoRoot, "contracts", "released"),
};

/** One breaking change, with the snapshot it was found in. */
export interface BreakingChange extends OasdiffChange {
  snapshot: Snapshot;
}

/** oasdiff's level of an error: the change breaks existing consumers. */
const ERROR_LEVEL = 3;

/**
 * Writes each snapshot as built from `contractsDir` into a new temporary folder, runs `use` on
 * it, then removes it.
 */
export async function withCurrentSnapshots<T>(
  contractsDir: string,
  use: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "portico-contracts-"));
  try {
    for (const snapshot of SNAPSHOTS) {
      await writeFile(join(dir, snapshot.file), snapshotText(await snapshot.build(contractsDir)));
    }
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Every breaking change between the released baseline and the contracts now (oasdiff's
 * `error` level, plus the rules raised in severity-levels.txt).
 * @throws InfraError when oasdiff is missing and cannot be installed, or cannot read a document;
 *   Error when a contract does not bundle.
 */
export async function findBreakingChanges(
  folders: ContractFolders = DEFAULT_FOLDERS,
): Promise<BreakingChange[]> {
  return withCurrentSnapshots(folders.contractsDir, async (dir) => {
    const found: BreakingChange[] = [];
    for (const snapshot of SNAPSHOTS) {
      const changes = await oasdiff(
        "breaking",
        join(folders.releasedDir, snapshot.file),
        join(dir, snapshot.file),
      );
      for (const change of changes) {
        if (change.level >= ERROR_LEVEL) found.push({ ...change, snapshot });
      }
    }
    return found;
  });
}

/**
 * One line naming a breaking change: where (the operation, or the event for event payloads),
 * what, and oasdiff's rule id, e.g.
 * `public API: DELETE /products/{productId}: API removed without deprecation [api-removed-without-deprecation]`;
 * for events, `event payloads: event <subject>: removed the required property "data/name" from the
 * event as consumers receive it [response-required-property-removed]`.
 */
export function describeBreakingChange(change: BreakingChange): string {
  if (change.snapshot.file !== EVENTS_SNAPSHOT) {
    const where = `${change.operation ?? ""} ${change.path ?? ""}`.trim();
    return `${change.snapshot.label}: ${where}: ${change.text} [${change.id}]`;
  }
  // The synthetic document's request is the event as published, its response as consumed.
  const text = change.text
    .replace(/the response with the `200` status/g, "the event as consumers receive it")
    .replace(/\bthe request\b/g, "the event as publishers send it");
  return `${change.snapshot.label}: event ${change.path?.replace(/^\//, "")}: ${text} [${change.id}]`;
}
