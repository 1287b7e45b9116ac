/**
 * Where the Python client lives and which tools its virtual environment holds. Kept apart from
 * python-client.ts (the generator's side, which reads the contracts) so the Python tool steps
 * (scripts/src/services/python-tools.ts, run before anything is built) can import it.
 */
import { join } from "node:path";
import type { PythonTools } from "../fuzz/venv.js";
import { repoRoot } from "../paths.js";

/** The client's project folder: pyproject.toml, tests/, and the generated package. */
export const PYTHON_CLIENT_PROJECT = join(repoRoot, "clients", "python");
/** The generated package, relative to the repository root. */
export const PYTHON_CLIENT_PACKAGE = "clients/python/portico_client";

/** The generator, ruff (its formatting hooks) and pytest, in clients/python/.venv. */
export const PYTHON_CLIENT_TOOLS: PythonTools = {
  dir: PYTHON_CLIENT_PROJECT,
  requirements: join(PYTHON_CLIENT_PROJECT, "requirements-dev.txt"),
  executable: "openapi-python-client",
};
