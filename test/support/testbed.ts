// The whole system in one call, for integration tests, fault tests and benchmarks: a real MQTT broker
// (Mosquitto; aedes outside CI when it is missing), the real gateway in-process (its own temp dir with
// config, registry and journal; trusting forwarder GPS time so observations carry simulated time), a
// simulated fleet running the real firmware with one packet forwarder per gateway site, and a collector
// subscribed to everything the gateway publishes.
//
//   const bed = await startTestbed({ nodes: 5, gateways: 2, loss: 0.1, days: 1, seed: 7 });
//   await bed.run();                        // simulate, then wait until the broker has everything
//   bed.observations()                      // observations deduplicated by @iot.id
//   bed.truth                               // what the sensors saw and what went on air
//   await bed.stop();
import { type Gateway, startGateway } from "../../gateway/gateway.ts";
import type { ObservationEnvelope, RadioMetadataPayload } from "../../gateway/observations/index.ts";
import { loadConfig } from "../../gateway/ops/config.ts";
import { decodeUplink } from "../../shared/payload/index.ts";
import {
  describeFleet,
  Fleet,
  type FleetOptions,
  type ForwarderSetup,
  type FrameTruth,
  type KindMix,
  registryEntry,
  type Truth,
} from "../../tools/sim/index.ts";
import { type GatewayFiles, LogCapture, writeGatewayFiles } from "./gateway.ts";
import { type Collector, collect, findMosquitto, startBroker, type TestBroker } from "./mqtt-broker.ts";
import { observationsIn } from "./observations.ts";

export interface TestbedOptions {
  /** Default 5. */
  nodes?: number;
  /** Default "mixed". */
  kind?: KindMix;
  /** Default 1. */
  seed?: number;
  /** What run() simulates by default, days from the start. Default 1. */
  days?: number;
  /** Per frame and site. Default 0. */
  loss?: number;
  /** Gateway sites (one packet forwarder each). Default 1. */
  gateways?: number;
  /**
   * One gateway daemon per site, each with its own journal and FCnt state (gateways that do not coordinate,
   * DESIGN.md "Scale"), instead of one daemon that all forwarders talk to. Default false.
   */
  separateGateways?: boolean;
  /** Further fleet options (sf, areaRadiusM, duplicateRate, speed, …). */
  fleet?: Partial<FleetOptions>;
  /** Forwarder tuning (window, ackTimeoutMs, …); the target is the testbed's gateway. */
  forwarders?: Omit<ForwarderSetup, "target">;
  /** Config sections merged over the testbed's gateway config, e.g. { journal: { commitIntervalMs: 5 } }. */
  gatewayConfig?: Record<string, unknown>;
  /** Use this broker instead of starting one (it is not stopped by stop()). */
  broker?: TestBroker;
  /** Default "openherz". */
  topicPrefix?: string;
}

export interface RunOptions {
  /** Simulate until this many days after the start (default: the testbed's `days`). */
  days?: number;
  /** Or until this virtual time, Unix ms. */
  untilMs?: number;
  /** Wall ms to wait for the broker to receive everything after the simulation. Default 30 000. */
  settleTimeoutMs?: number;
}

export interface Testbed {
  readonly broker: TestBroker;
  /** The first (or only) gateway daemon. */
  readonly gateway: Gateway;
  readonly gateways: readonly Gateway[];
  readonly files: readonly GatewayFiles[];
  /** The gateways' JSON log lines (warnings and errors). */
  readonly logs: readonly LogCapture[];
  readonly fleet: Fleet;
  readonly truth: Truth;
  /** Subscribed to `<prefix>/#` before the fleet started. */
  readonly collector: Collector;
  readonly topicPrefix: string;
  /** Simulates, then waits until every forwarded frame is acknowledged and published (see settle()). */
  run(options?: RunOptions): Promise<void>;
  /**
   * Waits until the forwarders have no frame left, every gateway's journal is empty (published and
   * PUBACKed) and the collector has seen no new message for a moment.
   */
  settle(timeoutMs?: number): Promise<void>;
  /**
   * Observations on `<prefix>/v1/observations/#` (taken out of the batches, or one envelope per message with
   * the "observation" grouping), deduplicated by their @iot.id.
   */
  observations(): Map<string, ObservationEnvelope>;
  /** Messages received on `<prefix>/v1/observations/#` in all (before deduplication). */
  observationMessages(): number;
  /** Observations received in all, in those messages (before deduplication). */
  observationsReceived(): number;
  stop(): Promise<void>;
}

const QUIET_MS = 150;

export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const topicPrefix = options.topicPrefix ?? "openherz";
  const spec = describeFleet({
    ...options.fleet,
    nodes: options.nodes ?? 5,
    kind: options.kind ?? options.fleet?.kind ?? "mixed",
    seed: options.seed ?? 1,
    sites: options.gateways ?? 1,
  });
  const cleanup: Array<() => Promise<void> | void> = [];
  const undo = async () => {
    for (const fn of cleanup.reverse()) await fn();
  };
  try {
    // Mosquitto drops QoS 1 messages for a subscriber more than max_queued_messages (default 1000) behind;
    // the collector takes everything several gateways publish at full speed, so it must not fall off.
    const broker =
      options.broker ??
      (await startBroker(findMosquitto() === undefined ? {} : { config: ["max_queued_messages 10000000"] }));
    if (options.broker === undefined) cleanup.push(() => broker.dispose());

    const daemonCount = options.separateGateways ? spec.sites.length : 1;
    const files: GatewayFiles[] = [];
    const logs: LogCapture[] = [];
    const gateways: Gateway[] = [];
    for (let i = 0; i < daemonCount; i++) {
      const f = await writeGatewayFiles({
        brokerUrl: broker.url,
        devices: spec.nodes.map(registryEntry),
        gatewayId: daemonCount === 1 ? "testbed-gw" : `testbed-gw-${i + 1}`,
        topicPrefix,
        config: merge(
          {
            time: { trustForwarderGpsTime: true, waitForNtpSync: false },
            log: { level: "warn" },
            http: { enabled: false },
          },
          options.gatewayConfig ?? {},
        ),
      });
      files.push(f);
      cleanup.push(() => f.dispose());
      const log = new LogCapture();
      logs.push(log);
      const gateway = await startGateway(loadConfig(f.configPath), { logDestination: log, env: {} });
      gateways.push(gateway);
      cleanup.push(() => gateway.stop("testbed stopped"));
    }
    const udpPorts = gateways.map((g) => {
      const address = g.udpAddress();
      if (address === undefined) throw new Error("testbed gateway has no UDP input");
      return address.port;
    });

    const collector = await collect(broker.url, `${topicPrefix}/#`);
    cleanup.push(() => collector.close());

    const fleet = await Fleet.start({
      ...options.fleet,
      spec,
      loss: options.loss ?? options.fleet?.loss ?? 0,
      forwarders: {
        ...options.forwarders,
        target: (_site, i) => ({ host: "127.0.0.1", port: udpPorts[daemonCount === 1 ? 0 : i]! }),
      },
    });
    cleanup.push(() => fleet.close());

    const days = options.days ?? 1;
    const observationTopic = `${topicPrefix}/v1/observations/`;
    const isObservation = (topic: string) => topic.startsWith(observationTopic);

    const settle = async (timeoutMs = 30_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      if (!(await fleet.flush(timeoutMs))) throw new Error("testbed: forwarders still hold frames");
      let seen = -1;
      let quietSince = Date.now();
      for (;;) {
        const depth = gateways.reduce((sum, g) => sum + g.health().journalDepth, 0);
        const count = collector.messages.length;
        if (count !== seen) {
          seen = count;
          quietSince = Date.now();
        }
        if (depth === 0 && Date.now() - quietSince >= QUIET_MS) return;
        if (Date.now() > deadline) {
          throw new Error(`testbed: not settled within ${timeoutMs} ms (journal depth ${depth})`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };

    return {
      broker,
      gateway: gateways[0]!,
      gateways,
      files,
      logs,
      fleet,
      truth: fleet.truth,
      collector,
      topicPrefix,
      async run(run: RunOptions = {}) {
        const until = run.untilMs ?? fleet.startMs + (run.days ?? days) * 86_400_000;
        await fleet.run(until);
        await settle(run.settleTimeoutMs);
      },
      settle,
      observations() {
        const out = new Map<string, ObservationEnvelope>();
        for (const m of collector.messages) {
          if (!isObservation(m.topic) || m.payload === "") continue;
          for (const o of observationsIn(m)) if (!out.has(o["@iot.id"])) out.set(o["@iot.id"], o);
        }
        return out;
      },
      observationMessages() {
        return collector.messages.filter((m) => isObservation(m.topic)).length;
      },
      observationsReceived() {
        return collector.messages
          .filter((m) => isObservation(m.topic) && m.payload !== "")
          .reduce((n, m) => n + observationsIn(m).length, 0);
      },
      stop: undo,
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const b = out[key];
    out[key] =
      b !== null &&
      typeof b === "object" &&
      !Array.isArray(b) &&
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value)
        ? { ...(b as object), ...(value as object) }
        : value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Comparing what reached the broker with the ground truth. The truth side decodes the frames the nodes sent
// (shared/payload, the reference decoder) only to know which sample or bin rode in which frame, so that data
// in a frame no site heard is excused rather than reported missing.

/** Sample and bin times of one frame: its build time (what payload ages count from) minus the ages. */
function frameBuildS(frame: FrameTruth): number {
  return Math.floor(frame.startMs / 1000);
}

function delivered(frame: FrameTruth): boolean {
  return frame.heardBy.length > 0 && !frame.faults.includes("drop") && !frame.faults.includes("corrupt");
}

function parseIsoS(iso: string): number {
  return Date.parse(iso) / 1000;
}

function devEuiOf(envelope: ObservationEnvelope): string {
  return envelope.Datastream["@iot.id"].split(":")[0]!;
}

function datastreamOf(envelope: ObservationEnvelope): string {
  return envelope.Datastream["@iot.id"].split(":")[1]!;
}

export interface ClimateProblem {
  node: string;
  datastream: "air_temperature" | "relative_humidity";
  tS: number;
  expected?: number;
  got?: number[];
  detail: string;
}

export interface ClimateComparison {
  /** Sample values (per channel) the truth expects at the broker. */
  expected: number;
  matched: number;
  /** In frames no site heard (or dropped/corrupted on purpose): not expected. */
  excused: number;
  /** Read in range but not in any frame sent yet (still pending in the node). */
  unsent: number;
  missing: ClimateProblem[];
  /** More than one observation (different ids) for one sample. */
  duplicated: ClimateProblem[];
  wrongValue: ClimateProblem[];
  /** Observations in range that match no truth sample. */
  unexpected: ClimateProblem[];
  /** Largest |published time − read time|, s. */
  maxTimeErrorS: number;
}

/**
 * Every climate value read in `[fromS, toS)` (rejected channels excepted) against the observations: found
 * exactly once (after dedup by id), value within `valueTolerance` (default 0.01), time within `timeToleranceS`
 * (default 3 s: airtime plus the gateway's rounding, gateway/observations/README.md "Times").
 */
export function compareClimate(
  bed: Pick<Testbed, "truth" | "observations">,
  range: { fromS: number; toS: number; valueTolerance?: number; timeToleranceS?: number },
): ClimateComparison {
  const valueTolerance = (range.valueTolerance ?? 0.01) + 1e-9;
  const timeTolerance = range.timeToleranceS ?? 3;
  const streams = new Map<string, Array<{ tS: number; value: number }>>();
  for (const e of bed.observations().values()) {
    const ds = datastreamOf(e);
    if (ds !== "air_temperature" && ds !== "relative_humidity") continue;
    const key = `${devEuiOf(e)}/${ds}`;
    const list = streams.get(key) ?? [];
    streams.set(key, list);
    list.push({ tS: parseIsoS(e.phenomenonTime), value: e.result });
  }
  const result: ClimateComparison = {
    expected: 0,
    matched: 0,
    excused: 0,
    unsent: 0,
    missing: [],
    duplicated: [],
    wrongValue: [],
    unexpected: [],
    maxTimeErrorS: 0,
  };
  const used = new Set<{ tS: number; value: number }>();
  for (const node of bed.truth.nodes.values()) {
    const carried = climateCarriers(node.frames);
    for (const s of node.climate) {
      if (s.tS < range.fromS || s.tS >= range.toS) continue;
      const frame = carried.get(s.tS);
      for (const [ds, centi, rejected] of [
        ["air_temperature", s.temperatureCenti, s.rejected.temperature],
        ["relative_humidity", s.humidityCenti, s.rejected.humidity],
      ] as const) {
        if (centi === null || rejected) continue;
        if (frame === undefined) {
          result.unsent++;
          continue;
        }
        if (!delivered(frame)) {
          result.excused++;
          continue;
        }
        result.expected++;
        const expected = centi / 100;
        const candidates = (streams.get(`${node.devEui}/${ds}`) ?? []).filter(
          (o) => Math.abs(o.tS - s.tS) <= timeTolerance,
        );
        for (const c of candidates) used.add(c);
        const problem = {
          node: node.name,
          datastream: ds,
          tS: s.tS,
          expected,
          got: candidates.map((c) => c.value),
        };
        if (candidates.length === 0) {
          result.missing.push({ ...problem, detail: "not published" });
          continue;
        }
        if (candidates.length > 1) result.duplicated.push({ ...problem, detail: "published more than once" });
        const best = candidates[0]!;
        result.maxTimeErrorS = Math.max(result.maxTimeErrorS, Math.abs(best.tS - s.tS));
        if (Math.abs(best.value - expected) > valueTolerance) {
          result.wrongValue.push({ ...problem, detail: `value ${best.value}, expected ${expected}` });
        } else if (candidates.length === 1) result.matched++;
      }
    }
    for (const ds of ["air_temperature", "relative_humidity"] as const) {
      for (const o of streams.get(`${node.devEui}/${ds}`) ?? []) {
        if (o.tS < range.fromS || o.tS >= range.toS || used.has(o)) continue;
        result.unexpected.push({
          node: node.name,
          datastream: ds,
          tS: o.tS,
          got: [o.value],
          detail: "no such sample",
        });
      }
    }
  }
  return result;
}

/** Read time of each climate sample → the frame that carried it. */
function climateCarriers(frames: readonly FrameTruth[]): Map<number, FrameTruth> {
  const out = new Map<number, FrameTruth>();
  for (const f of frames) {
    if (f.fport !== 1) continue;
    const batch = decodeUplink(1, f.payload);
    if (batch.kind !== "climate") continue;
    for (const s of batch.samples) {
      const t = frameBuildS(f) - s.secondsBeforeUplink;
      if (!out.has(t)) out.set(t, f);
    }
  }
  return out;
}

export interface BikeBinResult {
  node: string;
  startS: number;
  truth: { ab: number; ba: number };
  got?: { ab: number; ba: number };
}

export interface BikeComparison {
  /** Bins (node × bin) the truth expects at the broker. */
  expected: number;
  /** Published with exactly the true counts. */
  exact: number;
  /** Published with other counts: what the detector's documented limits allow, rarely. */
  mismatched: BikeBinResult[];
  missing: BikeBinResult[];
  /** In frames no site heard: not expected. */
  excused: number;
  /** Bins in range not sent yet. */
  unsent: number;
  /** Sum of |published − true| over all directions and bins, and the true total. */
  absoluteError: number;
  trueTotal: number;
}

/** The true counts per bin in `[fromS, toS)` against the bicycles_ab / bicycles_ba observations. */
export function compareBike(
  bed: Pick<Testbed, "truth" | "observations" | "fleet">,
  range: { fromS: number; toS: number },
): BikeComparison {
  const published = new Map<string, { ab?: number; ba?: number }>();
  for (const e of bed.observations().values()) {
    const ds = datastreamOf(e);
    if (ds !== "bicycles_ab" && ds !== "bicycles_ba") continue;
    const key = `${devEuiOf(e)}/${parseIsoS(e.phenomenonTime.split("/")[0]!)}`;
    const entry = published.get(key) ?? {};
    if (ds === "bicycles_ab") entry.ab = e.result;
    else entry.ba = e.result;
    published.set(key, entry);
  }
  const result: BikeComparison = {
    expected: 0,
    exact: 0,
    mismatched: [],
    missing: [],
    excused: 0,
    unsent: 0,
    absoluteError: 0,
    trueTotal: 0,
  };
  for (const spec of bed.fleet.spec.nodes) {
    if (spec.kind === "climate") continue;
    const node = bed.truth.node(spec.name);
    const binS = spec.config.bikeBinS ?? 900;
    const carriers = bikeCarriers(node.frames, binS);
    const bins = bed.truth.bikeBins(spec.name, binS, range.fromS * 1000, range.toS * 1000);
    for (let i = 0; i < bins.ab.length; i++) {
      const startS = bins.startMs / 1000 + i * binS;
      if (startS < range.fromS || startS + binS > range.toS) continue;
      const frame = carriers.get(startS);
      if (frame === undefined) {
        result.unsent++;
        continue;
      }
      if (!delivered(frame)) {
        result.excused++;
        continue;
      }
      result.expected++;
      const truth = { ab: bins.ab[i]!, ba: bins.ba[i]! };
      result.trueTotal += truth.ab + truth.ba;
      const got = published.get(`${node.devEui}/${startS}`);
      if (got?.ab === undefined || got.ba === undefined) {
        result.missing.push({ node: spec.name, startS, truth });
        continue;
      }
      const g = { ab: got.ab, ba: got.ba };
      result.absoluteError += Math.abs(g.ab - truth.ab) + Math.abs(g.ba - truth.ba);
      if (g.ab === truth.ab && g.ba === truth.ba) result.exact++;
      else result.mismatched.push({ node: spec.name, startS, truth, got: g });
    }
  }
  return result;
}

/** Start of each bin (snapped to the bin grid, as the gateway does) → the frame that carried it. */
function bikeCarriers(frames: readonly FrameTruth[], binS: number): Map<number, FrameTruth> {
  const out = new Map<number, FrameTruth>();
  for (const f of frames) {
    if (f.fport !== 2) continue;
    const batch = decodeUplink(2, f.payload);
    if (batch.kind !== "bike") continue;
    for (const b of batch.bins) {
      const start = Math.round((frameBuildS(f) - b.startSecondsBeforeUplink) / binS) * binS;
      if (!out.has(start)) out.set(start, f);
    }
  }
  return out;
}

export interface FrameComparison {
  /** Frames at least one site heard (no drop or corrupt fault). */
  heard: number;
  arrived: number;
  /** Heard but never published (no radio metadata with its FCnt). */
  missing: FrameTruth[];
  /** Heard by nobody, yet published: impossible unless something is very wrong. */
  phantom: FrameTruth[];
  /** Receptions (frame × site) whose radio metadata did not arrive. */
  missingReceptions: number;
}

/** Every frame heard by at least one site must reach the broker (its radio metadata, per reception). */
export function compareFrames(
  bed: Pick<Testbed, "truth" | "collector" | "topicPrefix" | "fleet">,
): FrameComparison {
  const prefix = `${bed.topicPrefix}/v1/operator/uplinks/`;
  const seen = new Map<string, Set<string>>();
  for (const m of bed.collector.messages) {
    if (!m.topic.startsWith(prefix) || m.payload === "") continue;
    const p = JSON.parse(m.payload) as RadioMetadataPayload;
    const key = `${p.devEui}/${p.fcnt}`;
    const sources = seen.get(key) ?? new Set<string>();
    seen.set(key, sources);
    sources.add(p.source.id.toLowerCase());
  }
  const euiOfSite = bed.fleet.spec.sites.map((s) => s.gatewayEui.toLowerCase());
  const result: FrameComparison = { heard: 0, arrived: 0, missing: [], phantom: [], missingReceptions: 0 };
  for (const frame of bed.truth.frames()) {
    const sources = seen.get(`${frame.devEui}/${frame.fcnt}`);
    if (!delivered(frame)) {
      if (sources !== undefined && frame.heardBy.length === 0) result.phantom.push(frame);
      continue;
    }
    result.heard++;
    if (sources === undefined) {
      result.missing.push(frame);
      continue;
    }
    result.arrived++;
    for (const h of frame.heardBy) if (!sources.has(euiOfSite[h.site]!)) result.missingReceptions++;
  }
  return result;
}
