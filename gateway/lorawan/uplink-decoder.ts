// LoRaWAN 1.0.x data uplinks: header checks, device lookup, dedup, 32-bit FCnt by MIC, replay and gap policy,
// decryption. Never throws for bad input and does no I/O; it does NOT advance the FCnt state: the caller
// commits `fcnt32` in the journal transaction that stores the frame's observations. Policy: ./README.md.
import type { RadioFrame } from "../types.ts";
import { type CmacKey, cmacKey, cryptFrmPayload, verifyUplinkMic } from "./crypto.ts";
import { DedupCache, dedupKey, type FirstReception } from "./dedup.ts";
import { classifyFcnt, fcnt32Candidates } from "./fcnt.ts";
import { loraPacket } from "./lora-packet.ts";
import type { Device, Registry } from "./registry.ts";

/** Why a frame was not accepted; each is its own counter (metric label). */
export type LorawanDropReason =
  /** Too short or too long, FOpts overrunning the frame, or lora-packet could not parse it. */
  | "lorawan_malformed"
  /** Join request/accept, rejoin, downlink or proprietary frame. */
  | "lorawan_not_uplink"
  /** MHDR major version other than 0 (LoRaWAN R1). */
  | "lorawan_version"
  /** No registered device has this DevAddr (often a neighbouring network's node: expect some). */
  | "lorawan_unknown_devaddr"
  /** The MIC verifies with none of the candidate 32-bit counters. */
  | "lorawan_bad_mic"
  /** Authentic, but its 32-bit FCnt is not above the device's last accepted one. */
  | "lorawan_replay"
  /** Authentic and fresh, but MAC commands only (no FPort, or FPort 0): no application payload. */
  | "lorawan_no_fport"
  /** The same frame (same bytes) was already accepted within the dedup window. */
  | "lorawan_duplicate";

export const LORAWAN_DROP_REASONS: readonly LorawanDropReason[] = [
  "lorawan_malformed",
  "lorawan_not_uplink",
  "lorawan_version",
  "lorawan_unknown_devaddr",
  "lorawan_bad_mic",
  "lorawan_replay",
  "lorawan_no_fport",
  "lorawan_duplicate",
];

/** An authentic, fresh data uplink with its decrypted application payload. */
export interface AcceptedUplink {
  devEui: string;
  /** 8 upper-case hex digits, most significant byte first. */
  devAddr: string;
  /** The reconstructed 32-bit FCntUp: the caller persists it with the frame's observations. */
  fcnt32: number;
  /** 1 … 255. */
  fport: number;
  /** Decrypted FRMPayload (may be empty). */
  payload: Uint8Array;
  /** Confirmed Data Up (the gateway does not send the ACK downlink). */
  confirmed: boolean;
  adr: boolean;
  /** 'first': no previous state; 'next': within MAX_FCNT_GAP; 'gap': beyond it, count 'fcnt_gap'. */
  fcntStatus: "first" | "next" | "gap";
  /** Frames missing between the last accepted counter and this one (0 for 'first'). */
  missed: number;
  frame: RadioFrame;
}

export interface UplinkDrop {
  ok: false;
  reason: LorawanDropReason;
  /** One line for the log: DevAddr, counters, never a key. */
  detail: string;
  /** Set once the device is known. */
  devEui?: string;
  /** Set once the MIC has verified ('lorawan_replay', 'lorawan_no_fport'). */
  fcnt32?: number;
  /** 'lorawan_duplicate': the first reception, so this one's radio metadata can be attached to it. */
  firstReception?: FirstReception<FirstAcceptance>;
}

/**
 * What the dedup cache keeps of a frame that passed the MIC and replay checks: enough to attach a later
 * copy's radio metadata to it, and small, since a busy gateway keeps a minute of frames.
 */
export interface FirstAcceptance {
  source: RadioFrame["source"];
  devAddr: string;
  fcnt32: number;
  /** Undefined for a frame without FPort (MAC commands only): no observations to attach metadata to. */
  fport: number | undefined;
}

export type UplinkDecodeResult = { ok: true; accepted: AcceptedUplink } | UplinkDrop;

export interface UplinkDecoderOptions {
  /** The current registry; called per frame, so a reloaded registry takes effect at once. */
  registry: () => Registry;
  /** The device's last accepted (committed) 32-bit FCntUp, or undefined when there is none. */
  lastFcnt: (devEui: string) => number | undefined;
  /** Shared dedup cache (default: a new one with default bounds). */
  dedup?: DedupCache<FirstAcceptance>;
}

export interface UplinkDecoder {
  decode(frame: RadioFrame): UplinkDecodeResult;
}

const MTYPE_NAMES = [
  "join request",
  "join accept",
  "unconfirmed data up",
  "unconfirmed data down",
  "confirmed data up",
  "confirmed data down",
  "rejoin request",
  "proprietary",
] as const;
const MTYPE_UNCONFIRMED_UP = 2;
const MTYPE_CONFIRMED_UP = 4;
/** MHDR(1) + DevAddr(4) + FCtrl(1) + FCnt(2) + MIC(4). */
const MIN_DATA_FRAME = 12;
/** Largest LoRa PHY payload. */
const MAX_PHY_PAYLOAD = 255;

interface SessionKeys {
  nwkSKey: CmacKey;
  appSKey: Buffer;
}

/** NwkSKey, its CMAC subkeys K1 and K2, AppSKey. */
const KEY_BYTES = 64;

/**
 * The binary session keys of the devices that have sent, derived on a device's first frame. Per registry
 * one buffer with 64 bytes per device and a slot number per device object: about 110 bytes per device,
 * where four Buffers and two objects per device took about 740 (10,000 devices on a Pi). Keyed by the
 * (frozen) device objects of the current registry: a reloaded registry starts afresh, so new keys take
 * effect at once.
 */
class SessionKeyStore {
  private registry: Registry | undefined;
  private keys = Buffer.alloc(0);
  private slots = new WeakMap<Device, number>();
  private used = 0;

  get(registry: Registry, device: Device): SessionKeys {
    if (registry !== this.registry) {
      this.registry = registry;
      // Buffer.alloc of more than a few KiB is a zero-filled allocation of its own, never a slice of the
      // shared pool (which short-lived buffers would otherwise keep alive).
      this.keys = Buffer.alloc(registry.devices.length * KEY_BYTES);
      this.slots = new WeakMap();
      this.used = 0;
    }
    let slot = this.slots.get(device);
    if (slot === undefined) {
      if ((this.used + 1) * KEY_BYTES > this.keys.length) return derive(device, Buffer.alloc(KEY_BYTES), 0);
      slot = this.used++;
      derive(device, this.keys, slot * KEY_BYTES);
      this.slots.set(device, slot);
    }
    return view(this.keys, slot * KEY_BYTES);
  }
}

function derive(device: Device, into: Buffer, at: number): SessionKeys {
  into.write(device.nwkSKey, at, 16, "hex");
  into.write(device.appSKey, at + 48, 16, "hex");
  const { k1, k2 } = cmacKey(into.subarray(at, at + 16));
  k1.copy(into, at + 16);
  k2.copy(into, at + 32);
  return view(into, at);
}

function view(keys: Buffer, at: number): SessionKeys {
  return {
    nwkSKey: {
      key: keys.subarray(at, at + 16),
      k1: keys.subarray(at + 16, at + 32),
      k2: keys.subarray(at + 32, at + 48),
    },
    appSKey: keys.subarray(at + 48, at + 64),
  };
}

export function createUplinkDecoder(options: UplinkDecoderOptions): UplinkDecoder {
  const dedup = options.dedup ?? new DedupCache<FirstAcceptance>();
  const sessionKeys = new SessionKeyStore();

  const decode = (frame: RadioFrame): UplinkDecodeResult => {
    const bytes = frame.phyPayload;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) return drop("lorawan_malformed", "empty frame");
    if (bytes.length > MAX_PHY_PAYLOAD) {
      return drop("lorawan_malformed", `${bytes.length} bytes, more than a LoRa frame can carry`);
    }
    const mhdr = bytes[0]!;
    const mtype = mhdr >>> 5;
    if (mtype !== MTYPE_UNCONFIRMED_UP && mtype !== MTYPE_CONFIRMED_UP) {
      return drop("lorawan_not_uplink", MTYPE_NAMES[mtype]!);
    }
    if ((mhdr & 0x03) !== 0) return drop("lorawan_version", `MHDR major version ${mhdr & 0x03}`);
    if (bytes.length < MIN_DATA_FRAME) {
      return drop("lorawan_malformed", `${bytes.length} bytes, a data frame has at least ${MIN_DATA_FRAME}`);
    }
    const fctrl = bytes[5]!;
    const fhdrEnd = 8 + (fctrl & 0x0f);
    const micStart = bytes.length - 4;
    if (fhdrEnd > micStart) return drop("lorawan_malformed", `FOptsLen ${fctrl & 0x0f} overruns the frame`);
    const devAddr = hex([bytes[4]!, bytes[3]!, bytes[2]!, bytes[1]!]);
    const fcnt16 = bytes[6]! | (bytes[7]! << 8);
    const fport = micStart > fhdrEnd ? bytes[fhdrEnd]! : undefined;
    const where = `DevAddr ${devAddr} FCnt16 ${fcnt16}`;

    const registry = options.registry();
    const device = registry.byDevAddr(devAddr);
    if (device === undefined) return drop("lorawan_unknown_devaddr", where);
    const devEui = device.devEui;

    const key = dedupKey(devAddr, fcnt16, bytes.subarray(micStart));
    const firstReception = dedup.lookup(key, bytes);
    if (firstReception !== undefined) {
      return drop(
        "lorawan_duplicate",
        `${where}, first received ${Math.round(firstReception.ageMs)} ms earlier`,
        { devEui, firstReception },
      );
    }

    // lora-packet is the parser: what it cannot parse is malformed. The MIC and the decryption below are
    // computed with node:crypto (./crypto.ts), byte-for-byte what lora-packet computes, 10× faster.
    try {
      loraPacket.fromWire(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (err) {
      return drop("lorawan_malformed", `${where}: ${(err as Error).message}`, { devEui });
    }

    const keys = sessionKeys.get(registry, device);
    const last = options.lastFcnt(devEui);
    const candidates = fcnt32Candidates(last, fcnt16);
    const devAddrLe = bytes.subarray(1, 5);
    const msg = bytes.subarray(0, micStart);
    const mic = bytes.subarray(micStart);
    const fcnt32 = candidates.find((c) => verifyUplinkMic(keys.nwkSKey, devAddrLe, c, msg, mic));
    if (fcnt32 === undefined) {
      return drop(
        "lorawan_bad_mic",
        `${where}: MIC verifies with none of ${candidates.length} candidate counters`,
        { devEui },
      );
    }

    const verdict = classifyFcnt(last, fcnt32);
    if (verdict.kind === "replay") {
      return drop("lorawan_replay", `${where}: FCnt ${fcnt32} not above last accepted ${verdict.last}`, {
        devEui,
        fcnt32,
      });
    }
    // Authentic and fresh from here on: later copies of these bytes are duplicates, not replays.
    dedup.remember(key, bytes, { source: frame.source, devAddr, fcnt32, fport });

    if (fport === undefined || fport === 0) {
      const what = fport === undefined ? "no FPort" : "FPort 0 (MAC commands)";
      return drop("lorawan_no_fport", `${where}: ${what}`, { devEui, fcnt32 });
    }

    // FPort 1…255 here, so the AppSKey (FPort 0 would use the NwkSKey).
    const payload = cryptFrmPayload(
      keys.appSKey,
      0,
      devAddrLe,
      fcnt32,
      bytes.subarray(fhdrEnd + 1, micStart),
    );

    return {
      ok: true,
      accepted: {
        devEui,
        devAddr,
        fcnt32,
        fport,
        payload,
        confirmed: mtype === MTYPE_CONFIRMED_UP,
        adr: (fctrl & 0x80) !== 0,
        fcntStatus: verdict.kind,
        missed: verdict.kind === "first" ? 0 : verdict.missed,
        frame,
      },
    };
  };

  // Bad input never throws (the lora-packet call is guarded, ./crypto.ts takes any bytes); an exception from the injected `registry`
  // or `lastFcnt` (say, the journal failing) propagates, so it is not miscounted as a bad frame.
  return { decode };
}

function drop(
  reason: LorawanDropReason,
  detail: string,
  extra?: Pick<UplinkDrop, "devEui" | "fcnt32" | "firstReception">,
): UplinkDrop {
  return { ok: false, reason, detail, ...extra };
}

function hex(bytes: number[]): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out.toUpperCase();
}
