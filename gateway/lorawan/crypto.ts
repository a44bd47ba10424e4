// LoRaWAN 1.0.x data-frame cryptography with node:crypto (OpenSSL's AES): FRMPayload encryption (§4.3.3)
// and the MIC (§4.4, AES-CMAC of RFC 4493). lora-packet does the same in JavaScript AES (crypto-js): ~64 µs
// per frame, a tenth of the gateway's budget per frame; here it is a few µs. lora-packet remains the
// parser and the reference: test/unit/gateway/lorawan/crypto.test.ts checks both byte for byte. Pure: no I/O.
import { createCipheriv, timingSafeEqual } from "node:crypto";

/** An AES-128 key with its CMAC subkeys K1 and K2 (RFC 4493 §2.3), derived once per key. */
export interface CmacKey {
  key: Buffer;
  k1: Buffer;
  k2: Buffer;
}

const ZERO_BLOCK = Buffer.alloc(16);

export function cmacKey(key: Buffer): CmacKey {
  if (key.length !== 16) throw new RangeError(`AES-128 key must be 16 bytes, got ${key.length}`);
  const l = aesEcb(key, ZERO_BLOCK);
  const k1 = doubleBlock(l);
  return { key, k1, k2: doubleBlock(k1) };
}

/** AES-CMAC: the last block of AES-CBC (zero IV) over the message, its last block padded and masked. */
export function aesCmac(k: CmacKey, message: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(message.length / 16));
  const complete = message.length > 0 && message.length % 16 === 0;
  const m = Buffer.alloc(blocks * 16);
  m.set(message);
  if (!complete) m[message.length] = 0x80;
  const subkey = complete ? k.k1 : k.k2;
  const last = (blocks - 1) * 16;
  for (let i = 0; i < 16; i++) m[last + i]! ^= subkey[i]!;
  const cipher = createCipheriv("aes-128-cbc", k.key, ZERO_BLOCK);
  cipher.setAutoPadding(false);
  return cipher.update(m).subarray(last, last + 16);
}

/**
 * Whether `mic` is the MIC of an uplink data frame: the first 4 bytes of AES-CMAC(NwkSKey, B0 | msg), msg
 * being MHDR … FRMPayload and B0 carrying the DevAddr and the full 32-bit FCnt, both little-endian (§4.4).
 * `devAddrLe` is the DevAddr as it travels on air (bytes 1–4 of the frame).
 */
export function verifyUplinkMic(
  nwkSKey: CmacKey,
  devAddrLe: Uint8Array,
  fcnt32: number,
  msg: Uint8Array,
  mic: Uint8Array,
): boolean {
  if (mic.length !== 4 || msg.length > 255) return false;
  const b0msg = Buffer.alloc(16 + msg.length);
  b0msg[0] = 0x49;
  b0msg.set(devAddrLe, 6);
  b0msg.writeUInt32LE(fcnt32 >>> 0, 10);
  b0msg[15] = msg.length;
  b0msg.set(msg, 16);
  return timingSafeEqual(aesCmac(nwkSKey, b0msg).subarray(0, 4), mic);
}

/**
 * FRMPayload encryption and decryption (the same XOR with the keystream of the blocks A1 … An, §4.3.3.1).
 * `dir` is 0 for uplinks, 1 for downlinks; the key is the AppSKey for FPort 1…255, the NwkSKey for FPort 0.
 */
export function cryptFrmPayload(
  key: Buffer,
  dir: 0 | 1,
  devAddrLe: Uint8Array,
  fcnt32: number,
  payload: Uint8Array,
): Uint8Array {
  const n = payload.length;
  if (n === 0) return new Uint8Array(0);
  const blocks = Math.ceil(n / 16);
  const a = Buffer.alloc(blocks * 16);
  for (let i = 0; i < blocks; i++) {
    const at = i * 16;
    a[at] = 0x01;
    a[at + 5] = dir;
    a.set(devAddrLe, at + 6);
    a.writeUInt32LE(fcnt32 >>> 0, at + 10);
    a[at + 15] = (i + 1) & 0xff;
  }
  const s = aesEcb(key, a);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = payload[i]! ^ s[i]!;
  return out;
}

function aesEcb(key: Buffer, blocks: Buffer): Buffer {
  const cipher = createCipheriv("aes-128-ecb", key, null);
  cipher.setAutoPadding(false);
  return cipher.update(blocks);
}

/** Multiplication by x in GF(2^128) (RFC 4493 §2.3). */
function doubleBlock(b: Buffer): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >>> 7 : 0)) & 0xff;
  if (b[0]! & 0x80) out[15]! ^= 0x87;
  return out;
}
