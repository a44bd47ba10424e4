/**
 * Test helpers for the node firmware: a host with programmable sensors, a day runner, a canonical CBOR
 * encoder for configuration downlinks, and an independent decoder of the uplinks (cbor-x for the CBOR, a
 * minimal Rice reader for the residual block), so these tests do not depend on shared/payload.
 */
import { existsSync, readFileSync } from "node:fs";
import { decode } from "cbor-x";
import { expect } from "vitest";
import { FPort } from "../../../firmware/host/abi.ts";
import {
  type BuiltUplink,
  DEFAULT_WASM_PATH,
  loadFirmwareModule,
  NodeHost,
  type SensorReading,
} from "../../../firmware/host/node-host.ts";

export const WASM_PATH = DEFAULT_WASM_PATH;

/** The built module's bytes; fails with a clear message when the build is missing. */
export function firmwareBytes(): Uint8Array {
  if (!existsSync(WASM_PATH)) throw new Error(`${WASM_PATH} is missing: run \`npm run build\` first`);
  return readFileSync(WASM_PATH);
}

/** 2025-06-15T00:00:00Z: midnight, so slots, bins and budget days start together. */
export const T0 = 1_749_945_600;

/** Sensor values the tests set; each channel answers with its error code or its value. */
export class FakeSensors {
  values: [number, number, number] = [2150, 5500, 3700];
  errors: [number, number, number] = [0, 0, 0];
  /** When set, computes the reading instead (the host's clock is `clock.now`). */
  model?: (channel: number, nowS: number) => SensorReading;
  reads = 0;

  constructor(readonly clock: { now: number }) {}

  read = (channel: number): SensorReading => {
    this.reads++;
    if (this.model) return this.model(channel, this.clock.now);
    return { err: this.errors[channel] ?? 1, value: this.values[channel] ?? 0 };
  };
}

export interface TestNode {
  host: NodeHost;
  sensors: FakeSensors;
  clock: { now: number };
  logs: [number, number][];
  /** Every uplink sent so far, in order. */
  uplinks: BuiltUplink[];
}

export interface NodeOptions {
  now?: number;
  sf?: number;
  bwKhz?: number;
  maxPayload?: number;
  /** Configuration entries applied right after init (cfg_id added when missing). */
  config?: ConfigEntries;
  savedState?: Uint8Array;
  resetCause?: number;
}

export async function createNode(opts: NodeOptions = {}): Promise<TestNode> {
  firmwareBytes();
  const module = await loadFirmwareModule(WASM_PATH);
  const clock = { now: opts.now ?? T0 };
  const sensors = new FakeSensors(clock);
  const logs: [number, number][] = [];
  const host = await NodeHost.create({ sensors: sensors.read, module, onLog: (c, a) => logs.push([c, a]) });
  host.init(clock.now, opts.resetCause ?? 0, opts.savedState);
  host.radioSet(opts.sf ?? 11, opts.bwKhz ?? 125, opts.maxPayload ?? 51);
  const node: TestNode = { host, sensors, clock, logs, uplinks: [] };
  if (opts.config) {
    const entries: ConfigEntries = [[0, 1], ...opts.config.filter(([k]) => k !== 0)];
    const result = host.downlink(clock.now, FPort.config, encodeConfig(entries));
    if (result !== 0) throw new Error(`test configuration rejected: ${result}`);
  }
  return node;
}

/** A bicycle pass: the front wheel on channel `first`, 200 ms later on the other one. */
export interface Pass {
  atS: number;
  first: 0 | 1;
}

export interface RunOptions {
  transmit?: (u: BuiltUplink) => boolean;
  /** Bicycle passes in time order; the run wakes for each. */
  passes?: Pass[];
}

/** Ticks at the times the module asks for (and at each pass), sending every uplink it builds, until `untilS`. */
export function runUntil(node: TestNode, untilS: number, opts: RunOptions = {}): void {
  const passes = opts.passes ?? [];
  let next = passes.findIndex((p) => p.atS >= node.clock.now);
  if (next < 0) next = passes.length;
  for (;;) {
    const now = node.clock.now;
    for (; next < passes.length && (passes[next]?.atS ?? 0) <= now; next++) {
      const first = passes[next]?.first ?? 0;
      node.host.pulse(first, now * 1000, now);
      node.host.pulse(1 - first, now * 1000 + 200, now);
    }
    const wake = node.host.tick(now);
    expect(wake).toBeGreaterThanOrEqual(1);
    expect(wake).toBeLessThanOrEqual(86_400);
    node.uplinks.push(...node.host.drainUplinks(now, opts.transmit));
    if (now >= untilS) return;
    node.clock.now = Math.min(now + wake, passes[next]?.atS ?? Number.POSITIVE_INFINITY, untilS);
  }
}

/** A pass every `everyS` seconds from `fromS` to `toS`, A→B twice as often as B→A. */
export function traffic(fromS: number, toS: number, everyS: number): Pass[] {
  const passes: Pass[] = [];
  for (let t = fromS, i = 0; t < toS; t += everyS, i++) passes.push({ atS: t, first: i % 3 === 2 ? 1 : 0 });
  return passes;
}

/** Sends nothing that is due right now but calls tick and drains: one step at `now`. */
export function step(node: TestNode, now: number): BuiltUplink[] {
  node.clock.now = now;
  node.host.tick(now);
  const sent = node.host.drainUplinks(now);
  node.uplinks.push(...sent);
  return sent;
}

// ---- configuration downlinks -------------------------------------------------------------------

export type ConfigEntries = [number, number | null][];

/** Canonical CBOR head. */
export function cborHead(major: number, value: number): number[] {
  const m = major << 5;
  if (value < 24) return [m | value];
  if (value < 0x100) return [m | 24, value];
  if (value < 0x10000) return [m | 25, value >> 8, value & 0xff];
  if (value < 0x100000000) return [m | 26, ...[24, 16, 8, 0].map((s) => (value >>> s) & 0xff)];
  const hi = Math.floor(value / 0x100000000);
  return [
    m | 27,
    ...[24, 16, 8, 0].map((s) => (hi >>> s) & 0xff),
    ...[24, 16, 8, 0].map((s) => (value >>> s) & 0xff),
  ];
}

export function cborInt(value: number | null): number[] {
  if (value === null) return [0xf6];
  return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
}

/** A configuration map in the order given (duplicates allowed, for tests). */
export function encodeConfig(entries: ConfigEntries): Uint8Array {
  const out = cborHead(5, entries.length);
  for (const [key, value] of entries) out.push(...cborHead(0, key), ...cborInt(value));
  return Uint8Array.from(out);
}

// ---- uplink decoding -----------------------------------------------------------------------------

export interface ClimateBatch {
  n: number;
  intervalMin: number;
  ageS: number;
  temperature: (number | null)[];
  humidity: (number | null)[];
  batteryMv: number | null;
  kT: number;
  kH: number;
  /** Trend per slot of each channel, checked against the canonical definition. */
  tSlope: number;
  hSlope: number;
  /** Sample times: build time − age − (n − 1 − i) × 60 × interval_min. */
  times: number[];
}

export interface BikeBatch {
  binS: number;
  ageS: number;
  /** [A→B, B→A] per bin, oldest first. */
  counts: [number, number][];
  /** Start time of each bin. */
  starts: number[];
}

export interface NodeStatus {
  fwVersion: number;
  uptimeS: number;
  resetCause: number;
  batteryMv: number | null;
  flags: number;
  cfgId: number;
  cfgResult: number;
  dropped: number;
  noisePulses: number;
}

function asArray(bytes: Uint8Array): unknown[] {
  const value: unknown = decode(bytes);
  if (!Array.isArray(value)) throw new Error("uplink is not a CBOR array");
  if (value[0] !== 1) throw new Error(`unknown payload version ${String(value[0])}`);
  return value;
}

function uint(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    throw new Error(`not a uint: ${value}`);
  return value;
}

function intOrNull(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isInteger(value)) throw new Error(`not an int: ${value}`);
  return value;
}

/** Reads the Rice block strictly (shared/PAYLOAD.md "Residual block"), including the canonical k. */
export function readResiduals(
  block: Uint8Array,
  counts: [number, number],
): { residuals: number[][]; k: number[] } {
  const k = [(block[0] ?? 0) >> 4, (block[0] ?? 0) & 15];
  let bit = 0;
  const totalBits = (block.length - 1) * 8;
  const readBit = (): number => {
    if (bit >= totalBits) throw new Error("residual block ends early");
    const byte = block[1 + (bit >> 3)] ?? 0;
    const value = (byte >> (7 - (bit & 7))) & 1;
    bit++;
    return value;
  };
  const residuals = counts.map((m, channel) => {
    const out: number[] = [];
    const kc = k[channel] ?? 0;
    for (let j = 1; j < m; j++) {
      let q = 0;
      while (readBit() === 1) q++;
      let z = q;
      for (let b = 0; b < kc; b++) z = z * 2 + readBit();
      out.push(z % 2 === 0 ? z / 2 : -(z + 1) / 2);
    }
    return out;
  });
  if (totalBits - bit >= 8) throw new Error("residual block has an extra byte");
  while (bit < totalBits) if (readBit() !== 0) throw new Error("nonzero padding bit");
  residuals.forEach((r, channel) => {
    expect(k[channel], `canonical k of channel ${channel}`).toBe(canonicalK(r));
  });
  return { residuals, k };
}

function riceBits(residuals: number[], k: number): number {
  return residuals.reduce((sum, r) => sum + Math.floor((r >= 0 ? 2 * r : -2 * r - 1) / 2 ** k) + 1 + k, 0);
}

export function canonicalK(residuals: number[]): number {
  let best = 0;
  for (let k = 1; k <= 15; k++) if (riceBits(residuals, k) < riceBits(residuals, best)) best = k;
  return best;
}

/**
 * One channel's values from its first value, slope and residuals (shared/PAYLOAD.md "Trend and
 * residuals"): v_j = v_(j-1) + s × (p_j − p_(j-1)) + r_j. Checks that the slope is the canonical one.
 */
function channelValues(
  first: number | null,
  slope: number,
  missing: number,
  n: number,
  residuals: number[],
): (number | null)[] {
  const values: (number | null)[] = [];
  let current = first ?? 0;
  let next = 0;
  let prevAt = -1;
  let firstAt = -1;
  for (let i = 0; i < n; i++) {
    if ((missing >> i) & 1) {
      values.push(null);
      continue;
    }
    if (prevAt >= 0) current += slope * (i - prevAt) + (residuals[next++] ?? Number.NaN);
    else firstAt = i;
    prevAt = i;
    values.push(current);
  }
  const canonical = prevAt > firstAt ? Math.trunc((current - (first ?? 0)) / (prevAt - firstAt)) | 0 : 0;
  expect(slope, "canonical slope").toBe(canonical);
  return values;
}

function popcount(x: number): number {
  let c = 0;
  for (let v = x; v; v &= v - 1) c++;
  return c;
}

export function decodeClimate(uplink: BuiltUplink): ClimateBatch {
  const a = asArray(uplink.bytes);
  if (a.length !== 10 && a.length !== 12) throw new Error(`climate batch of ${a.length} elements`);
  const n = uint(a[1]);
  const intervalMin = uint(a[2]);
  const ageS = uint(a[3]);
  const tSlope = intOrNull(a[6]) ?? Number.NaN;
  const hSlope = intOrNull(a[7]) ?? Number.NaN;
  const tMissing = a.length === 12 ? uint(a[10]) : 0;
  const hMissing = a.length === 12 ? uint(a[11]) : 0;
  if (a.length === 12 && tMissing === 0 && hMissing === 0) throw new Error("masks present but both 0");
  const block = a[8];
  if (!(block instanceof Uint8Array)) throw new Error("residuals are not a byte string");
  const valid: [number, number] = [n - popcount(tMissing), n - popcount(hMissing)];
  const { residuals, k } = readResiduals(block, valid);
  const temperature = channelValues(intOrNull(a[4]), tSlope, tMissing, n, residuals[0] ?? []);
  const humidity = channelValues(intOrNull(a[5]), hSlope, hMissing, n, residuals[1] ?? []);
  const times = Array.from({ length: n }, (_, i) => uplink.builtAt - ageS - (n - 1 - i) * 60 * intervalMin);
  return {
    n,
    intervalMin,
    ageS,
    temperature,
    humidity,
    batteryMv: intOrNull(a[9]),
    kT: k[0] ?? 0,
    kH: k[1] ?? 0,
    tSlope,
    hSlope,
    times,
  };
}

export function decodeBike(uplink: BuiltUplink): BikeBatch {
  const a = asArray(uplink.bytes);
  if (a.length !== 4) throw new Error(`bike batch of ${a.length} elements`);
  const binS = uint(a[1]);
  const ageS = uint(a[2]);
  const flat = a[3];
  if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new Error("counts is not an even array");
  const counts: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) counts.push([uint(flat[i]), uint(flat[i + 1])]);
  const n = counts.length;
  const starts = counts.map((_, i) => uplink.builtAt - ageS - (n - i) * binS);
  return { binS, ageS, counts, starts };
}

export function decodeStatus(uplink: BuiltUplink): NodeStatus {
  const a = asArray(uplink.bytes);
  if (a.length !== 10) throw new Error(`status of ${a.length} elements`);
  return {
    fwVersion: uint(a[1]),
    uptimeS: uint(a[2]),
    resetCause: uint(a[3]),
    batteryMv: intOrNull(a[4]),
    flags: uint(a[5]),
    cfgId: uint(a[6]),
    cfgResult: uint(a[7]),
    dropped: uint(a[8]),
    noisePulses: uint(a[9]),
  };
}

export function climateUplinks(node: TestNode): BuiltUplink[] {
  return node.uplinks.filter((u) => u.fport === FPort.climate);
}

export function statusUplinks(node: TestNode): NodeStatus[] {
  return node.uplinks.filter((u) => u.fport === FPort.status).map(decodeStatus);
}

/** LoRa time on air in ms, in floating point (Semtech AN1200.13), for cross-checking the firmware. */
export function timeOnAirMs(payloadLen: number, sf: number, bwKhz: number): number {
  const tSym = 2 ** sf / bwKhz;
  const de = sf >= 11 && bwKhz === 125 ? 1 : 0;
  const pl = 13 + payloadLen;
  const nPayload = 8 + Math.max(Math.ceil((8 * pl - 4 * sf + 28 + 16) / (4 * (sf - 2 * de))) * 5, 0);
  return (8 + 4.25) * tSym + nPayload * tSym;
}

/** The configuration in force, read from the state region (layout: firmware/assembly/state.ts). */
export function configInForce(host: NodeHost): number[] {
  const state = host.saveState();
  const view = new DataView(state.buffer, state.byteOffset);
  return Array.from({ length: 17 }, (_, key) => view.getInt32(16 + key * 4, true));
}
