// Value ranges of PAYLOAD.md and the element checks shared by the decoders, with their messages.
// shared/codec/ttn-codec.js repeats these messages word for word.
import { PayloadError } from "./errors.ts";

export const U32_MAX = 0xffffffff;
export const TEMPERATURE = { min: -4000, max: 8500 } as const;
export const HUMIDITY = { min: 0, max: 10000 } as const;
export const BATTERY = { min: 0, max: 6000 } as const;
export const FORMAT_VERSION = 1;

/** An integer for messages; beyond 2^53 both decoders only know its magnitude. */
export function formatInt(v: number): string {
  if (Number.isSafeInteger(v)) return String(v);
  return v > 0 ? "2^53 or more" : "-2^53 or less";
}

/** cbor-x yields number for heads up to 4 bytes and bigint for 8-byte heads. */
function toInt(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

export function describe(v: unknown): string {
  const i = toInt(v);
  if (i !== undefined) return formatInt(i);
  if (v === null) return "null";
  if (v instanceof Uint8Array) return "a byte string";
  if (Array.isArray(v)) return "an array";
  return "an unexpected value";
}

/** Element checks for one message kind; every failure is a PayloadError prefixed with the kind. */
export class Fields {
  constructor(readonly context: string) {}

  readonly fail: (message: string) => never = (message) => {
    throw new PayloadError(`${this.context}: ${message}`);
  };

  int(name: string, v: unknown, min: number, max: number): number {
    const i = toInt(v);
    if (i === undefined) return this.fail(`${name} must be an integer, got ${describe(v)}`);
    if (i < min || i > max) this.fail(`${name} is ${formatInt(i)}, outside ${min}..${max}`);
    return i;
  }

  intOrNull(name: string, v: unknown, min: number, max: number): number | null {
    if (v === null) return null;
    const i = toInt(v);
    if (i === undefined) return this.fail(`${name} must be an integer or null, got ${describe(v)}`);
    return this.int(name, i, min, max);
  }

  bytes(name: string, v: unknown): Uint8Array {
    if (!(v instanceof Uint8Array)) return this.fail(`${name} must be a byte string, got ${describe(v)}`);
    return v;
  }

  array(name: string, v: unknown): unknown[] {
    if (!Array.isArray(v)) return this.fail(`${name} must be an array, got ${describe(v)}`);
    return v;
  }

  version(v: unknown): void {
    const i = toInt(v);
    if (i === undefined) this.fail(`version must be an integer, got ${describe(v)}`);
    if (i !== FORMAT_VERSION) {
      this.fail(`unknown format version ${formatInt(i!)} (this decoder reads version ${FORMAT_VERSION})`);
    }
  }

  /** The message array with its version checked and one of the allowed lengths. */
  message(v: unknown, lengths: readonly number[]): unknown[] {
    if (!Array.isArray(v)) return this.fail(`expected an array, got ${describe(v)}`);
    if (v.length === 0) this.fail("the array is empty, expected the format version first");
    this.version(v[0]);
    if (!lengths.includes(v.length)) {
      this.fail(`expected ${lengths.join(" or ")} elements, got ${v.length}`);
    }
    return v;
  }
}
