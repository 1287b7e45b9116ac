/**
 * `npm run contracts:release`: appends the changes since the last release to
 * docs/api-changelog.md and makes the contracts now the released baseline
 * (`contracts/released/`) that `npm run contracts:compat` compares with. Commit both.
 */
import { isInfraError } from "../infra/errors.js";
import { releaseContracts } from "./release.js";

try {
  const section = await releaseContracts();
  console.log(
    section
      ? `Released. Appended to docs/api-changelog.md:\n${section}`
      : "Nothing changed since the last release; the baseline was rewritten as is.",
  );
} catch (error) {
  console.error(isInfraError(error) ? error.message : error);
  process.exit(1);
}
