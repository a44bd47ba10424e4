// Key check value (hw/provisioning-protocol.md §2): the first 3 bytes of AES-128-ECB(key, 16 zero bytes). The
// node reports it instead of the key; the tool computes it from the key it wrote and compares.
import { createCipheriv } from "node:crypto";

/** KCV of a 16-byte key given as 32 hex digits; 6 upper-case hex digits. */
export function keyCheckValue(keyHex: string): string {
  if (!/^[0-9A-Fa-f]{32}$/.test(keyHex)) throw new RangeError("a key is 32 hex digits");
  const cipher = createCipheriv("aes-128-ecb", Buffer.from(keyHex, "hex"), null);
  cipher.setAutoPadding(false);
  const block = cipher.update(Buffer.alloc(16));
  cipher.final();
  return block.subarray(0, 3).toString("hex").toUpperCase();
}
