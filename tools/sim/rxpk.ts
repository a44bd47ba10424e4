/**
 * What a virtual concentrator reports for a received frame (an `rxpk`) and for itself (a `stat`), as the
 * Semtech packet forwarder writes them (Lora-net/packet_forwarder PROTOCOL.TXT §4, sx1302_hal PROTOCOL.md
 * for `tmms`). Pure: virtual times in, JSON out.
 *
 * Times refer to the end of the reception ("RX finished"), as on the SX1301: `tmst` is the concentrator's
 * free-running µs counter (u32, wraps every 71.6 min) from a per-forwarder random offset, `time` the UTC time
 * with µs, `tmms` the GPS time in ms — all from the virtual clock, so a gateway that trusts forwarder GPS time
 * stamps observations with simulated time.
 */
import { type RxpkJson, rxpkFor, unixToGpsMs } from "../../gateway/radio/semtech-udp-codec.ts";

const U32 = 0x1_0000_0000;

export interface ReceivedFrame {
  phyPayload: Uint8Array;
  /** End of the reception, virtual Unix ms (may have a fraction). */
  endMs: number;
  freqMhz: number;
  /** Index of the channel in the forwarder's plan. */
  channel: number;
  sf: number;
  bwKhz: number;
  rssiDbm: number;
  snrDb: number;
  /** Semtech `stat`: 1 CRC ok, -1 CRC bad. Default 1. */
  crc?: 1 | -1;
}

/** The concentrator counter at virtual time `unixMs`: µs, wrapping at 2^32. */
export function concentratorTmst(unixMs: number, offsetUs: number): number {
  const us = Math.floor(unixMs * 1000) + offsetUs;
  return ((us % U32) + U32) % U32;
}

/** "2026-06-01T10:15:02.412345Z": ISO 8601 compact with µs, as in an rxpk. */
export function isoMicros(unixMs: number): string {
  const wholeMs = Math.floor(unixMs);
  const micros = Math.min(999, Math.round((unixMs - wholeMs) * 1000));
  const base = new Date(wholeMs).toISOString(); // …T10:15:02.412Z
  return `${base.slice(0, -1)}${String(micros).padStart(3, "0")}Z`;
}

/** "2026-06-01 10:15:02 GMT": the expanded form of a stat's `time`. */
export function statTime(unixMs: number): string {
  return `${new Date(Math.floor(unixMs)).toISOString().slice(0, 19).replace("T", " ")} GMT`;
}

export function rxpkOf(frame: ReceivedFrame, tmstOffsetUs: number): RxpkJson {
  return rxpkFor(frame.phyPayload, {
    time: isoMicros(frame.endMs),
    tmms: Math.floor(unixToGpsMs(frame.endMs)),
    tmst: concentratorTmst(frame.endMs, tmstOffsetUs),
    chan: frame.channel,
    rfch: frame.channel < 4 ? 0 : 1,
    freq: frame.freqMhz,
    stat: frame.crc ?? 1,
    modu: "LORA",
    datr: `SF${frame.sf}BW${frame.bwKhz}`,
    codr: "4/5",
    rssi: Math.round(frame.rssiDbm),
    lsnr: Math.round(frame.snrDb * 10) / 10,
  });
}

export interface StatCounters {
  /** Frames received (every CRC), since the last stat. */
  rxnb: number;
  rxok: number;
  rxfw: number;
  /** Percentage of PUSH_DATA acknowledged, since the last stat. */
  ackr: number;
}

export interface SiteLocation {
  lat: number;
  lon: number;
  altM: number;
}

export function statOf(
  unixMs: number,
  counters: StatCounters,
  location: SiteLocation,
): Record<string, unknown> {
  return {
    time: statTime(unixMs),
    lati: Math.round(location.lat * 1e5) / 1e5,
    long: Math.round(location.lon * 1e5) / 1e5,
    alti: Math.round(location.altM),
    rxnb: counters.rxnb,
    rxok: counters.rxok,
    rxfw: counters.rxfw,
    ackr: Math.round(counters.ackr * 10) / 10,
    dwnb: 0,
    txnb: 0,
  };
}
