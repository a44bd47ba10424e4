/**
 * The gateway benchmark's radio side: a fleet of ABP devices with their own keys, hourly climate batches
 * (12 samples at 5 min, ~33 bytes of CBOR, as the firmware sends them), LoRaWAN uplinks built with the
 * gateway's node:crypto MIC and encryption (lora-packet's JavaScript AES would make building 100,000 frames
 * take longer than the benchmark), and PUSH_DATA datagrams built before the clock starts.
 * verifyFleetBuilder() checks the builder against lora-packet's encoder.
 */
import { createHash } from "node:crypto";
import { aesCmac, type CmacKey, cmacKey, cryptFrmPayload } from "../../gateway/lorawan/crypto.ts";
import { fcntMsbBytes } from "../../gateway/lorawan/fcnt.ts";
import { loraPacket } from "../../gateway/lorawan/lora-packet.ts";
import type { DeviceInput } from "../../gateway/lorawan/registry.ts";
import { encodePushData, type RxpkJson, rxpkFor } from "../../gateway/radio/semtech-udp-codec.ts";
import { encodeClimate } from "../../shared/payload/index.ts";

export interface BenchDevice {
  input: DeviceInput;
  devAddrLe: Buffer;
  nwkSKey: CmacKey;
  appSKey: Buffer;
}

export const FORWARDER_EUI = "b827ebfffe0be7c4";

/** Radio fields of a concentrator reception (no GPS time: the gateway stamps with its own valid clock). */
const RX_META: Omit<RxpkJson, "data" | "size"> = {
  tmst: 3_512_348_611,
  chan: 2,
  rfch: 0,
  freq: 868.5,
  datr: "SF9BW125",
  codr: "4/5",
  rssi: -97,
  lsnr: 7.5,
};

/** Device `index` of the fleet: DevEUI, DevAddr and keys derived from the index, so every run is the same. */
export function benchDevice(index: number): BenchDevice {
  const seed = createHash("sha256").update(`openherz-bench-${index}`).digest();
  const nwkSKey = seed.subarray(0, 16);
  const appSKey = seed.subarray(16, 32);
  const devAddr = (0x2600_0000 + index).toString(16).toUpperCase().padStart(8, "0");
  const input: DeviceInput = {
    devEui: `70B3D57EB0${index.toString(16).toUpperCase().padStart(6, "0")}`,
    devAddr,
    nwkSKey: nwkSKey.toString("hex").toUpperCase(),
    appSKey: appSKey.toString("hex").toUpperCase(),
    name: `bench-${String(index).padStart(5, "0")}`,
    location: {
      lat: 52.37 + (index % 100) / 10_000,
      lon: 9.73 + Math.floor(index / 100) / 10_000,
      description: "lamp post",
    },
    sensors: ["climate"],
  };
  return {
    input,
    devAddrLe: Buffer.from(devAddr, "hex").reverse(),
    nwkSKey: cmacKey(Buffer.from(nwkSKey)),
    appSKey: Buffer.from(appSKey),
  };
}

export function createFleet(size: number): BenchDevice[] {
  return Array.from({ length: size }, (_, i) => benchDevice(i));
}

const CLIMATE_VARIANTS = 16;
const climatePayloads = Array.from({ length: CLIMATE_VARIANTS }, (_, v) =>
  encodeClimate({
    intervalMin: 5,
    ageS: 10 + v,
    batteryMv: 3550 + v * 5,
    temperatures: Array.from({ length: 12 }, (_, i) => 1850 + v * 17 + Math.round(40 * Math.sin(i / 2))),
    humidities: Array.from({ length: 12 }, (_, i) => 6200 - v * 23 - i * 11 + (i % 3) * 4),
  }),
);

/** The hourly climate batch a device sends (FPort 1). */
export function climatePayload(deviceIndex: number, fcnt32: number): Uint8Array {
  return climatePayloads[(deviceIndex + fcnt32) % CLIMATE_VARIANTS]!;
}

/** Mean size of the climate payloads in bytes. */
export function climatePayloadBytes(): number {
  return climatePayloads.reduce((s, p) => s + p.length, 0) / climatePayloads.length;
}

/** An unconfirmed data uplink (FPort 1, FCtrl 0) of the device with its 32-bit FCnt. */
export function buildUplink(d: BenchDevice, fcnt32: number, plaintext: Uint8Array, fport = 1): Buffer {
  const header = Buffer.alloc(9);
  header[0] = 0x40;
  d.devAddrLe.copy(header, 1);
  header.writeUInt16LE(fcnt32 & 0xffff, 6);
  header[8] = fport;
  const msg = Buffer.concat([header, cryptFrmPayload(d.appSKey, 0, d.devAddrLe, fcnt32, plaintext)]);
  const b0 = Buffer.alloc(16);
  b0[0] = 0x49;
  d.devAddrLe.copy(b0, 6);
  b0.writeUInt32LE(fcnt32 >>> 0, 10);
  b0[15] = msg.length;
  return Buffer.concat([msg, aesCmac(d.nwkSKey, Buffer.concat([b0, msg])).subarray(0, 4)]);
}

/** Throws unless the fast builder makes the same bytes as lora-packet for a few devices and counters. */
export function verifyFleetBuilder(fleet: readonly BenchDevice[]): void {
  for (const [index, fcnt32] of [
    [0, 1],
    [1, 70_000],
    [Math.min(fleet.length - 1, 9_999), 0x1_0002],
  ] as const) {
    const d = fleet[index]!;
    const payload = climatePayload(index, fcnt32);
    const reference = loraPacket
      .fromFields(
        {
          MType: "Unconfirmed Data Up",
          DevAddr: Buffer.from(d.input.devAddr, "hex"),
          FCtrl: { ADR: false },
          FCnt: Buffer.from([(fcnt32 >>> 8) & 0xff, fcnt32 & 0xff]),
          FPort: 1,
          payload: Buffer.from(payload),
        },
        d.appSKey,
        d.nwkSKey.key,
        undefined,
        fcntMsbBytes(fcnt32),
      )
      .getPHYPayload() as Buffer;
    const fast = buildUplink(d, fcnt32, payload);
    if (!fast.equals(reference)) {
      throw new Error(`bench frame builder disagrees with lora-packet for device ${index} FCnt ${fcnt32}`);
    }
  }
}

/**
 * A PUSH_DATA datagram carrying the frames, token 0; the sender writes the token into bytes 1–2
 * (setToken) just before sending.
 */
export function pushDataDatagram(frames: readonly Uint8Array[], rxMeta: Partial<RxpkJson> = {}): Buffer {
  const rxpk = frames.map((phy) => rxpkFor(phy, { ...RX_META, ...rxMeta }));
  return Buffer.from(encodePushData(0, FORWARDER_EUI, { rxpk }));
}

export function setToken(datagram: Buffer, token: number): void {
  datagram[1] = (token >>> 8) & 0xff;
  datagram[2] = token & 0xff;
}

export interface FrameSchedule {
  frames: number;
  /** Devices [from, to) of the fleet, visited in rounds; default all. */
  deviceRange?: [number, number];
  /** FCnt of the first round; round r sends firstFcnt + r, so no frame is a replay or a duplicate. */
  firstFcnt?: number;
}

/** Which device sends the k-th frame of the schedule, with which counter. */
export function scheduledFrame(
  fleet: readonly BenchDevice[],
  s: FrameSchedule,
  k: number,
): { index: number; devEui: string; fcnt32: number } {
  const [from, to] = s.deviceRange ?? [0, fleet.length];
  const index = from + (k % (to - from));
  const fcnt32 = (s.firstFcnt ?? 1) + Math.floor(k / (to - from));
  return { index, devEui: fleet[index]!.input.devEui, fcnt32 };
}

/** The schedule's frames as datagrams of `perDatagram` frames each. */
export function buildDatagrams(
  fleet: readonly BenchDevice[],
  s: FrameSchedule & { perDatagram: number },
): Buffer[] {
  const out: Buffer[] = [];
  let batch: Buffer[] = [];
  for (let k = 0; k < s.frames; k++) {
    const { index, fcnt32 } = scheduledFrame(fleet, s, k);
    batch.push(buildUplink(fleet[index]!, fcnt32, climatePayload(index, fcnt32)));
    if (batch.length === s.perDatagram) {
      out.push(pushDataDatagram(batch));
      batch = [];
    }
  }
  if (batch.length > 0) out.push(pushDataDatagram(batch));
  return out;
}
