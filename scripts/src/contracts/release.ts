/**
 * Recording a release of the contracts: the changes since the last release appended to the API
 * changelog, then the released baseline replaced by the contracts now.
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../paths.js";
import { type ContractFolders, DEFAULT_FOLDERS, withCurrentSnapshots } from "./compat.js";
import { oasdiffMarkdownChangelog } from "./oasdiff.js";
import { SNAPSHOTS } from "./snapshots.js";

/** The API changelog consumers read. */
export const CHANGELOG_FILE = join(repoRoot, "docs", "api-changelog.md");

/** Options of {@link releaseContracts}. */
export interface ReleaseOptions extends ContractFolders {
  changelogFile: string;
  /** The release's date, `YYYY-MM-DD` (default today, UTC). */
  date?: string;
}

/**
 * Appends a dated section with oasdiff's changelog of each snapshot (public API, event payloads)
 * to the changelog, then copies the snapshots into the baseline folder.
 * @returns the section appended, or undefined when nothing changed since the last release (then
 *   nothing is written).
 * @throws InfraError when oasdiff fails.
 */
export async function releaseContracts(
  options: ReleaseOptions = { ...DEFAULT_FOLDERS, changelogFile: CHANGELOG_FILE },
): Promise<string | undefined> {
  const date = options.date ?? new Date().toISOString().slice(0, 10);
  return withCurrentSnapshots(options.contractsDir, async (dir) => {
    const parts: string[] = [];
    for (const snapshot of SNAPSHOTS) {
      const released = join(options.releasedDir, snapshot.file);
      const exists = await readFile(released).then(
        () => true,
        () => false,
      );
      const changes = exists
        ? await oasdiffMarkdownChangelog(released, join(dir, snapshot.file))
        : "First release.";
      if (changes) parts.push(`### ${snapshot.label}\n\n${changes.replace(/^#+ .*\n+/, "")}`);
    }
    await mkdir(options.releasedDir, { recursive: true });
    for (const snapshot of SNAPSHOTS) {
      await copyFile(join(dir, snapshot.file), join(options.releasedDir, snapshot.file));
    }
    if (parts.length === 0) return undefined;
    const section = `\n## ${date}\n\n${parts.join("\n\n")}\n`;
    const current = await readFile(options.changelogFile, "utf8").catch(() => "# API changelog\n");
    await writeFile(options.changelogFile, `${current.trimEnd()}\n${section}`);
    return section;
  });
}
