/** A mistake by the person at the keyboard: printed as one line, exit status 2, no stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}
