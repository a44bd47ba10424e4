// Canonical CBOR writer (RFC 8949 §4.2.1: shortest argument encoding, definite lengths) into static memory.
// shared/PAYLOAD.md "Principles". The caller guarantees room: the largest message is under TX_ROOM bytes.
import { NONE } from "./config";

export const MAJOR_UINT: u32 = 0;
export const MAJOR_NEGINT: u32 = 1;
export const MAJOR_BYTES: u32 = 2;
export const MAJOR_ARRAY: u32 = 4;
const NULL_BYTE: u32 = 0xf6;

let cursor: usize = 0;

export function writeStart(at: usize): void {
  cursor = at;
}

export function writePos(): usize {
  return cursor;
}

export function writeByte(b: u32): void {
  store<u8>(cursor++, b);
}

export function writeHead(major: u32, value: u32): void {
  let n: u32 = value < 24 ? 0 : value < 0x100 ? 1 : value < 0x10000 ? 2 : 4;
  writeByte((major << 5) | (n ? 24 + ctz(n) : value));
  while (n--) writeByte(value >> (n << 3));
}

export function writeUint(value: u32): void {
  writeHead(MAJOR_UINT, value);
}

/** An int, or null for NONE. A negative value -1 - x is major type 1 (the sign bit) with argument x. */
export function writeIntOrNull(value: i32): void {
  if (value == NONE) writeByte(NULL_BYTE);
  else writeHead(u32(value) >>> 31, value ^ (value >> 31));
}
