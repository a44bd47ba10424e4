// Frame builders for the LoRaWAN tests: lora-packet's own encoder (fromFields), and an independent one
// written from the LoRaWAN 1.0.x spec (§4.3.3 encryption, §4.4 MIC) with node:crypto, used to pin the
// byte order of the 32-bit FCnt that lora-packet expects.
import { createCipheriv } from "node:crypto";
import { fcntMsbBytes } from "../../../../gateway/lorawan/fcnt.ts";
import { loraPacket } from "../../../../gateway/lorawan/lora-packet.ts";
import { createRegistry, type DeviceInput, type Registry } from "../../../../gateway/lorawan/registry.ts";
import type { RadioFrame } from "../../../../gateway/types.ts";

export const NWK_SKEY = "2B7E151628AED2A6ABF7158809CF4F3C";
export const APP_SKEY = "000102030405060708090A0B0C0D0E0F";
export const DEV_ADDR = "26011BDA";
export const DEV_EUI = "70B3D57ED0061234";

export function testDevice(overrides: Partial<DeviceInput> = {}): DeviceInput {
  return {
    devEui: DEV_EUI,
    devAddr: DEV_ADDR,
    nwkSKey: NWK_SKEY,
    appSKey: APP_SKEY,
    name: "bahnhofstrasse-12",
    location: { lat: 52.37, lon: 9.73 },
    sensors: ["climate"],
    ...overrides,
  };
}

export function testRegistry(devices: DeviceInput[] = [testDevice()]): Registry {
  return createRegistry({
    version: 1,
    devices: devices.map((d) => ({
      ...d,
      devEui: d.devEui.toUpperCase(),
      devAddr: d.devAddr.toUpperCase(),
      nwkSKey: d.nwkSKey.toUpperCase(),
      appSKey: d.appSKey.toUpperCase(),
      licence: d.licence ?? "CC-BY-4.0",
    })),
  });
}

export interface UplinkFields {
  devAddr?: string;
  fcnt32: number;
  fport?: number | null;
  payload?: Uint8Array | string;
  confirmed?: boolean;
  adr?: boolean;
  fopts?: Uint8Array;
  nwkSKey?: string;
  appSKey?: string;
}

/** A data uplink built by lora-packet's fromFields. */
export function buildUplink(f: UplinkFields): Uint8Array {
  const payload =
    typeof f.payload === "string" ? Buffer.from(f.payload) : Buffer.from(f.payload ?? [1, 2, 3]);
  const packet = loraPacket.fromFields(
    {
      MType: f.confirmed ? "Confirmed Data Up" : "Unconfirmed Data Up",
      DevAddr: Buffer.from(f.devAddr ?? DEV_ADDR, "hex"),
      FCtrl: { ADR: f.adr ?? false },
      FCnt: Buffer.from([(f.fcnt32 >>> 8) & 0xff, f.fcnt32 & 0xff]),
      ...(f.fport === null ? { payload: Buffer.alloc(0) } : { FPort: f.fport ?? 1, payload }),
      ...(f.fopts ? { FOpts: Buffer.from(f.fopts) } : {}),
    },
    Buffer.from(f.appSKey ?? APP_SKEY, "hex"),
    Buffer.from(f.nwkSKey ?? NWK_SKEY, "hex"),
    undefined,
    fcntMsbBytes(f.fcnt32),
  );
  // fromFields signs only frames that have an FPort.
  if (f.fport === null) {
    loraPacket.recalculateMIC(
      packet,
      Buffer.from(f.nwkSKey ?? NWK_SKEY, "hex"),
      undefined,
      fcntMsbBytes(f.fcnt32),
    );
  }
  return new Uint8Array(packet.getPHYPayload() as Buffer);
}

export function radioFrame(phyPayload: Uint8Array, sourceId = "0016c001ff10a235", rssi = -90): RadioFrame {
  return {
    phyPayload,
    receivedAtMs: 1_750_000_000_000,
    source: { kind: "udp", id: sourceId },
    radio: { rssi },
  };
}

function aes(key: Buffer, block: Buffer): Buffer {
  const cipher = createCipheriv("aes-128-ecb", key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

function shiftLeft(b: Buffer): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >>> 7 : 0)) & 0xff;
  return out;
}

/** AES-CMAC (RFC 4493). */
export function aesCmac(key: Buffer, message: Buffer): Buffer {
  const l = aes(key, Buffer.alloc(16));
  const k1 = shiftLeft(l);
  if (l[0]! & 0x80) k1[15]! ^= 0x87;
  const k2 = shiftLeft(k1);
  if (k1[0]! & 0x80) k2[15]! ^= 0x87;
  const n = Math.max(1, Math.ceil(message.length / 16));
  const complete = message.length > 0 && message.length % 16 === 0;
  const last = Buffer.alloc(16);
  message.copy(last, 0, (n - 1) * 16);
  if (!complete) last[message.length - (n - 1) * 16] = 0x80;
  const subkey = complete ? k1 : k2;
  for (let i = 0; i < 16; i++) last[i]! ^= subkey[i]!;
  let x: Buffer = Buffer.alloc(16);
  for (let b = 0; b < n - 1; b++) {
    const y = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) y[i] = x[i]! ^ message[b * 16 + i]!;
    x = aes(key, y);
  }
  for (let i = 0; i < 16; i++) last[i]! ^= x[i]!;
  return aes(key, last);
}

function u32le(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

/**
 * An unconfirmed data uplink built from the spec alone: FRMPayload encrypted with the Ai blocks and MIC
 * over the B0 block, both carrying the full 32-bit FCnt little-endian.
 */
export function specUplink(devAddrHex: string, fcnt32: number, fport: number, plaintext: Buffer): Buffer {
  const appSKey = Buffer.from(APP_SKEY, "hex");
  const nwkSKey = Buffer.from(NWK_SKEY, "hex");
  const devAddrLe = Buffer.from(devAddrHex, "hex").reverse();
  const cipher = Buffer.alloc(plaintext.length);
  for (let block = 0; block * 16 < plaintext.length; block++) {
    const a = Buffer.concat([
      Buffer.from([1, 0, 0, 0, 0, 0]),
      devAddrLe,
      u32le(fcnt32),
      Buffer.from([0, block + 1]),
    ]);
    const s = aes(appSKey, a);
    for (let i = 0; i < 16 && block * 16 + i < plaintext.length; i++) {
      cipher[block * 16 + i] = plaintext[block * 16 + i]! ^ s[i]!;
    }
  }
  const fcnt16 = Buffer.from([fcnt32 & 0xff, (fcnt32 >>> 8) & 0xff]);
  const msg = Buffer.concat([
    Buffer.from([0x40]),
    devAddrLe,
    Buffer.from([0x00]),
    fcnt16,
    Buffer.from([fport]),
    cipher,
  ]);
  const b0 = Buffer.concat([
    Buffer.from([0x49, 0, 0, 0, 0, 0]),
    devAddrLe,
    u32le(fcnt32),
    Buffer.from([0, msg.length]),
  ]);
  const mic = aesCmac(nwkSKey, Buffer.concat([b0, msg])).subarray(0, 4);
  return Buffer.concat([msg, mic]);
}
