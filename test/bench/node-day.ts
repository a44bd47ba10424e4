/**
 * Runs the real firmware module on the Node reference host the way a device would: it sleeps as long as
 * `tick` asks, wakes for every bicycle pulse, drains and "transmits" every uplink right away, and reads
 * its sensors from the climate model at the moment the module asks.
 */
import { NodeHost, type SensorReading } from "../../firmware/host/node-host.ts";
import { MAX_UPLINKS_PER_DRAIN } from "../../firmware/host/scenario.ts";
import type { Pulse } from "../../tools/sim/models/bike-traffic.ts";
import type { ClimateModel } from "../../tools/sim/models/climate.ts";

export interface NodeRunOptions {
  module: WebAssembly.Module;
  /** Boot time, Unix s. */
  startS: number;
  /** Simulated span after boot, s. */
  durationS: number;
  sf: number;
  bwKhz?: number;
  maxPayload: number;
  /** Configuration written at provisioning (FPort 10 CBOR map), hex. */
  configHex: string;
  climate: ClimateModel;
  /** Bicycle pulses, Unix ms, sorted. */
  pulses?: readonly Pulse[];
  /** Also read the counters just before the first event at or after this time (start of a measured span). */
  snapshotAtS?: number;
}

export interface SentUplink {
  atS: number;
  fport: number;
  bytes: Uint8Array;
}

export interface NodeRun {
  uplinks: SentUplink[];
  /** Diagnostic counters 0..10 at the end. */
  counters: number[];
  /** The counters at `snapshotAtS` (all zero without it). */
  countersAtSnapshot: number[];
  /** Result of the provisioning configuration (0 = applied). */
  configResult: number;
}

export async function runNode(o: NodeRunOptions): Promise<NodeRun> {
  let now = o.startS;
  const sensors = (channel: number): SensorReading => {
    const r = o.climate.at(now);
    if (channel === 0) return { err: 0, value: r.temperatureCenti };
    if (channel === 1) return { err: 0, value: r.humidityCenti };
    if (channel === 2) return { err: 0, value: r.batteryMv };
    return { err: 1, value: 0 };
  };
  const host = await NodeHost.create({ sensors, module: o.module });
  const uplinks: SentUplink[] = [];
  const drain = (): void => {
    for (let n = 0; n < MAX_UPLINKS_PER_DRAIN; n++) {
      const up = host.uplinkBuild(now);
      if (up === null) return;
      uplinks.push({ atS: now, fport: up.fport, bytes: up.bytes.slice() });
      host.uplinkDone(now, true);
    }
    throw new Error(`more than ${MAX_UPLINKS_PER_DRAIN} uplinks in one drain at ${now}`);
  };

  host.init(now, 0);
  if (host.radioSet(o.sf, o.bwKhz ?? 125, o.maxPayload) !== 0)
    throw new Error(`radio_set SF${o.sf} rejected`);
  const configResult = host.downlink(now, 10, Buffer.from(o.configHex, "hex"));
  drain();

  const pulses = o.pulses ?? [];
  const end = o.startS + o.durationS;
  const bootMs = o.startS * 1000;
  let p = 0;
  while (p < pulses.length && (pulses[p]?.tMs ?? 0) < bootMs) p++;
  const readCounters = () => Array.from({ length: 11 }, (_, id) => host.counter(id) >>> 0);
  let countersAtSnapshot = new Array<number>(11).fill(0);
  let snapshotPending = o.snapshotAtS !== undefined;
  let nextTick = now;
  for (;;) {
    const pulse = pulses[p];
    const pulseS = pulse === undefined ? Number.POSITIVE_INFINITY : Math.floor(pulse.tMs / 1000);
    if (snapshotPending && Math.min(pulseS, nextTick) >= (o.snapshotAtS ?? 0)) {
      countersAtSnapshot = readCounters();
      snapshotPending = false;
    }
    if (pulse !== undefined && pulseS <= nextTick && pulseS < end) {
      // A pulse wakes the node before its next scheduled tick.
      now = Math.max(now, pulseS);
      host.pulse(pulse.channel, (pulse.tMs - bootMs) >>> 0, now);
      p++;
      continue;
    }
    if (nextTick >= end) break;
    now = nextTick;
    const sleepS = host.tick(now) >>> 0;
    drain();
    nextTick = now + Math.max(1, sleepS);
  }
  return { uplinks, counters: readCounters(), countersAtSnapshot, configResult };
}
