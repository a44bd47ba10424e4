import type { ConfigResultCode } from "./types.ts";

/**
 * A payload that breaks shared/PAYLOAD.md, or an encoder input that cannot be encoded. The message is one
 * human-readable line that names the message kind and the element at fault. For configuration downlinks,
 * `code` is the result code the node reports in its status (PAYLOAD.md, FPort 10).
 */
export class PayloadError extends Error {
  override name = "PayloadError";
  readonly code: ConfigResultCode | undefined;

  constructor(message: string, code?: ConfigResultCode) {
    super(message);
    this.code = code;
  }
}
