/**
 * Ground truth of a simulation run: what each node's sensors produced and what went on air, so a test can
 * compare it with what reached the broker. Filled by the nodes and the fleet as the run goes; read-only for
 * everyone else.
 */
import { type Bins, binByDirection, type Direction } from "./models/bike-traffic.ts";

/** One climate sample as the module read it (before its plausibility checks). */
export interface ClimateSampleTruth {
  /** When the module read the sensors, virtual Unix s (the sample's slot when ticks come on time). */
  tS: number;
  /** 0.01 °C; null if the read failed. */
  temperatureCenti: number | null;
  /** 0.01 %RH; null if the read failed. */
  humidityCenti: number | null;
  /** Channels the module rejected (log event 1: error, range, stuck): these are sent as missing. */
  rejected: { temperature: boolean; humidity: boolean };
}

/** One rider that passed a bike node, as the traffic generator made them. */
export interface RiderTruth {
  /** When the front wheel reached the second channel (the detector counts it then), Unix ms. */
  tMs: number;
  direction: Direction;
}

export interface Heard {
  /** Index of the site (gateway) in the fleet. */
  site: number;
  siteId: string;
  rssiDbm: number;
  snrDb: number;
}

/** One uplink that went on air. */
export interface FrameTruth {
  node: string;
  devEui: string;
  fcnt: number;
  fport: number;
  /** FRMPayload in clear, as the module built it. */
  payload: Uint8Array;
  phyPayload: Uint8Array;
  /** Start and end of the transmission, virtual Unix ms. */
  startMs: number;
  endMs: number;
  airtimeMs: number;
  sf: number;
  freqMhz: number;
  /** Index of the channel in the node's channel plan. */
  channel: number;
  /** The sites that received it (after path loss and random loss). */
  heardBy: Heard[];
  /** Faults applied to it: "drop", "duplicate", "corrupt". */
  faults: string[];
}

export interface RebootTruth {
  tS: number;
  cause: number;
}

export interface NodeTruth {
  name: string;
  devEui: string;
  climate: ClimateSampleTruth[];
  riders: RiderTruth[];
  frames: FrameTruth[];
  reboots: RebootTruth[];
  /** uplink_done(…, 0) reports: the duty cycle or the busy radio did not allow the transmission. */
  notSent: number;
}

/** Extra sends that are not new frames: replays of old frames. */
export interface ReplayTruth {
  node: string;
  fcnt: number;
  atMs: number;
  sites: number[];
}

export class Truth {
  readonly nodes = new Map<string, NodeTruth>();
  readonly replays: ReplayTruth[] = [];

  node(name: string): NodeTruth {
    const t = this.nodes.get(name);
    if (t === undefined) throw new Error(`no node ${name}`);
    return t;
  }

  /** Every frame of every node, in transmission order. */
  frames(): FrameTruth[] {
    return [...this.nodes.values()].flatMap((n) => n.frames).sort((a, b) => a.startMs - b.startMs);
  }

  /**
   * Drops what happened before `beforeMs` (virtual Unix ms), so that a long run that never compares with
   * the truth (the demo, left running for hours) keeps its memory bounded. Frames older than that can no
   * longer be replayed.
   */
  forget(beforeMs: number): void {
    const beforeS = beforeMs / 1000;
    for (const n of this.nodes.values()) {
      dropOlder(n.climate, (s) => s.tS < beforeS);
      dropOlder(n.riders, (r) => r.tMs < beforeMs);
      dropOlder(n.frames, (f) => f.endMs < beforeMs);
      dropOlder(n.reboots, (r) => r.tS < beforeS);
    }
    dropOlder(this.replays, (r) => r.atMs < beforeMs);
  }

  /**
   * True counts per direction in bins of `binS` aligned to UTC multiples, over `[fromMs, toMs)`: what a
   * perfect detector would report.
   */
  bikeBins(name: string, binS: number, fromMs: number, toMs: number): Bins {
    return binByDirection(this.node(name).riders, binS, fromMs, toMs);
  }
}

/** Removes the leading entries for which `old` holds (the lists are in time order). */
function dropOlder<T>(list: T[], old: (entry: T) => boolean): void {
  let n = 0;
  while (n < list.length && old(list[n]!)) n++;
  if (n > 0) list.splice(0, n);
}
