/**
 * `npm run contracts:compat`: fails (exit 1) when the contracts break consumers of the last
 * released version (`contracts/released/`), printing each breaking change; passes on additive
 * changes. `npm run contracts:release` records a new release.
 */
import { relative } from "node:path";
import { isInfraError } from "../infra/errors.js";
import { repoRoot } from "../paths.js";
import { DEFAULT_FOLDERS, describeBreakingChange, findBreakingChanges } from "./compat.js";

try {
  const changes = await findBreakingChanges(DEFAULT_FOLDERS);
  const baseline = relative(repoRoot, DEFAULT_FOLDERS.releasedDir);
  if (changes.length > 0) {
    console.error(
      `${changes.length} breaking change(s) against the released contracts (${baseline}/):`,
    );
    for (const change of changes) console.error(`  ${describeBreakingChange(change)}`);
    console.error(
      "Make the change additive (a new optional field, a new operation, a new version of the operation), " +
        "or, when breaking consumers is intended, release it with `npm run contracts:release` and announce it.",
    );
    process.exit(1);
  }
  console.log(`No breaking change against the released contracts (${baseline}/).`);
} catch (error) {
  console.error(isInfraError(error) ? error.message : error);
  process.exit(1);
}
