/**
 * An expected, user-facing failure of local infrastructure or of the system's start-up (a missing
 * binary, a busy port, a process that did not become ready). Command-line entry points print its
 * message without a stack trace; any other error is a bug and is printed in full.
 */
export class InfraError extends Error {
  override name = "InfraError";
}

/** Whether `error` is an {@link InfraError}, i.e. its message alone explains the failure. */
export function isInfraError(error: unknown): error is InfraError {
  return error instanceof InfraError;
}
