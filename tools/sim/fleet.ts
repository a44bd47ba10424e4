/**
 * A running fleet: the virtual clock, the nodes (real firmware), the radio channel, and one packet
 * forwarder per gateway site (or none: then receptions are only recorded, for benchmarks and unit tests).
 * The flow runs one way: node → MAC → radio channel (+ frame faults) → site forwarders → UDP → gateway.
 *
 *   const fleet = await Fleet.start({ nodes: 5, seed: 7, sites: 2, loss: 0.1,
 *                                     forwarders: { target: { host: "127.0.0.1", port: 1700 } } });
 *   await fleet.runDays(1);      // advance simulated time
 *   await fleet.flush();         // wait until every forwarded frame is acknowledged
 *   fleet.truth                  // what the sensors saw and what went on air
 *   await fleet.close();
 */
import { loadFirmwareModule } from "../../firmware/host/node-host.ts";
import { corruptFrame, type Fault, FrameFaults } from "./faults.ts";
import { describeFleet, type FleetSpec, type FleetSpecOptions, type SiteSpec } from "./fleet-spec.ts";
import { FrameOrder, type OrderTicket } from "./frame-order.ts";
import type { Transmission } from "./lorawan-mac.ts";
import { Random } from "./models/random.ts";
import { type ForwarderStats, type ForwarderTarget, PacketForwarder } from "./packet-forwarder.ts";
import { RadioChannel, snrDb } from "./radio-channel.ts";
import { rxpkOf } from "./rxpk.ts";
import { Scheduler, type Speed } from "./scheduler.ts";
import { type FrameTruth, type Heard, Truth } from "./truth.ts";
import { VirtualNode } from "./virtual-node.ts";

const DAY_MS = 86_400_000;

export interface ForwarderSetup {
  /** Where the sites' forwarders send: one gateway for all, or one per site. */
  target: ForwarderTarget | ((site: SiteSpec, index: number) => ForwarderTarget);
  /** PUSH_DATA awaiting PUSH_ACK per forwarder. Default 4. */
  window?: number;
  /** Default 8. */
  maxRxpkPerDatagram?: number;
  /** Default 2000 wall ms. */
  ackTimeoutMs?: number;
  /** Default 10 000 wall ms. */
  keepaliveIntervalMs?: number;
  /** Default 30 000 wall ms; 0 = no stat messages. */
  statIntervalMs?: number;
  /** Frames waiting in one forwarder above which the virtual clock holds. Default 64. */
  highWater?: number;
}

export interface FleetOptions extends Partial<FleetSpecOptions> {
  /** A ready fleet description; otherwise one is made from the other options (`nodes` then required). */
  spec?: FleetSpec;
  /** Per frame and site, 0..1. Default 0. */
  loss?: number;
  /** Random frame faults: probability per frame. */
  duplicateRate?: number;
  corruptRate?: number;
  /** Virtual seconds per wall second, or "max" (default). */
  speed?: Speed;
  /** The compiled firmware; default firmware/build/node.wasm (compiled once per process). */
  module?: WebAssembly.Module;
  wasmPath?: string;
  /** Without it, nothing leaves the process: receptions are only recorded in the truth. */
  forwarders?: ForwarderSetup;
}

export interface FleetStats {
  /** Virtual time, Unix ms. */
  nowMs: number;
  nodes: number;
  /** Uplinks on air. */
  frames: number;
  /** Frames at least one site received. */
  heard: number;
  /** Receptions (frame × site). */
  receptions: number;
  /** Transmissions the duty cycle or a busy radio refused (retried later). */
  notSent: number;
  airtimeMs: number;
  events: number;
  forwarders: Array<ForwarderStats & { id: string; backlog: number }>;
}

export type FrameListener = (frame: FrameTruth) => void;

export class Fleet {
  readonly truth = new Truth();
  readonly nodes: VirtualNode[] = [];
  readonly forwarders: PacketForwarder[] = [];
  private readonly byName = new Map<string, VirtualNode>();
  private readonly channel: RadioChannel;
  private readonly faults = new FrameFaults();
  private readonly order = new FrameOrder();
  private readonly random: Random;
  private readonly tmstOffsets: number[];
  private readonly listeners = new Set<FrameListener>();
  private readonly counts = { frames: 0, heard: 0, receptions: 0, airtimeMs: 0 };
  private closed = false;

  private constructor(
    readonly spec: FleetSpec,
    readonly scheduler: Scheduler,
    private readonly options: FleetOptions,
  ) {
    this.random = new Random(spec.seed ^ 0x51f0_0d5e);
    this.channel = new RadioChannel({ sites: spec.sites, loss: options.loss ?? 0, model: spec.pathLoss });
    this.tmstOffsets = spec.sites.map(() => this.random.int(0, 0xffffffff));
  }

  static async start(options: FleetOptions): Promise<Fleet> {
    const spec = options.spec ?? describeFleet({ ...options, nodes: options.nodes ?? 0 });
    const module = options.module ?? (await loadFirmwareModule(options.wasmPath));
    const scheduler = new Scheduler({ startMs: spec.startS * 1000, speed: options.speed ?? "max" });
    const fleet = new Fleet(spec, scheduler, options);
    try {
      if (options.forwarders !== undefined) await fleet.openForwarders(options.forwarders);
      for (const nodeSpec of spec.nodes) {
        const truth = {
          name: nodeSpec.name,
          devEui: nodeSpec.session.devEui.toUpperCase(),
          climate: [],
          riders: [],
          frames: [],
          reboots: [],
          notSent: 0,
        };
        fleet.truth.nodes.set(nodeSpec.name, truth);
        fleet.channel.addNode(nodeSpec.name, new Random(nodeSpec.seed ^ 0x5bd1_e995));
        const node = await VirtualNode.start(nodeSpec, {
          module,
          scheduler,
          endMs: Number.POSITIVE_INFINITY,
          truth,
          onTransmit: (n, tx) => fleet.onTransmit(n, tx),
        });
        fleet.nodes.push(node);
        fleet.byName.set(node.name, node);
      }
    } catch (err) {
      await fleet.close();
      throw err;
    }
    return fleet;
  }

  /** Virtual time, Unix ms. */
  get nowMs(): number {
    return this.scheduler.nowMs;
  }

  get startMs(): number {
    return this.spec.startS * 1000;
  }

  node(name: string): VirtualNode {
    const node = this.byName.get(name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  /** Advances simulated time to `untilMs` (virtual Unix ms). */
  run(untilMs: number): Promise<void> {
    return this.scheduler.runUntil(untilMs);
  }

  /** Advances simulated time to `days` after the start of the fleet. */
  runDays(days: number): Promise<void> {
    return this.run(this.startMs + days * DAY_MS);
  }

  /** Makes a running `run` return now (Ctrl-C). */
  stop(): void {
    this.scheduler.stop();
  }

  /**
   * Waits until every forwarded frame has been acknowledged (or timed out) by the gateway; resolves false
   * if some are still queued after `timeoutMs`.
   */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const drained = Promise.all(this.forwarders.map((f) => f.whenBacklogAtMost(0))).then(() => true);
    try {
      return await Promise.race([drained, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Applies a fault at the current virtual time (as the next event). */
  inject(fault: Fault): void {
    this.schedule(this.nowMs, fault);
  }

  /** Applies a fault at virtual time `atMs`. */
  schedule(atMs: number, fault: Fault): void {
    this.scheduler.at(atMs, () => this.apply(fault));
  }

  /** Called with every frame that goes on air (after the radio channel decided who hears it). */
  onFrame(listener: FrameListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): FleetStats {
    return {
      nowMs: this.nowMs,
      nodes: this.nodes.length,
      ...this.counts,
      notSent: [...this.truth.nodes.values()].reduce((sum, n) => sum + n.notSent, 0),
      events: this.scheduler.stats().events,
      forwarders: this.forwarders.map((f) => ({ id: f.id, backlog: f.backlog(), ...f.stats() })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.scheduler.stop();
    await Promise.all(this.forwarders.map((f) => f.close()));
  }

  private async openForwarders(setup: ForwarderSetup): Promise<void> {
    for (const [i, site] of this.spec.sites.entries()) {
      const target = typeof setup.target === "function" ? setup.target(site, i) : setup.target;
      this.forwarders.push(
        await PacketForwarder.open({
          id: site.id,
          gatewayEui: site.gatewayEui,
          target,
          location: site.location,
          virtualNow: () => this.scheduler.nowMs,
          order: this.order,
          ...(setup.window !== undefined && { window: setup.window }),
          ...(setup.maxRxpkPerDatagram !== undefined && { maxRxpkPerDatagram: setup.maxRxpkPerDatagram }),
          ...(setup.ackTimeoutMs !== undefined && { ackTimeoutMs: setup.ackTimeoutMs }),
          ...(setup.keepaliveIntervalMs !== undefined && { keepaliveIntervalMs: setup.keepaliveIntervalMs }),
          ...(setup.statIntervalMs !== undefined && { statIntervalMs: setup.statIntervalMs }),
        }),
      );
    }
    const highWater = setup.highWater ?? 64;
    this.scheduler.gate = () => {
      for (const f of this.forwarders) {
        if (f.backlog() > highWater) return f.whenBacklogAtMost(highWater >> 1);
      }
      return undefined;
    };
  }

  private onTransmit(node: VirtualNode, tx: Transmission): void {
    const { spec } = node;
    const receptions = this.channel.transmit(
      spec.name,
      spec.position,
      tx.sf,
      spec.txPowerDbm,
      node.random,
      tx.bwKhz,
    );
    const faults: string[] = this.faults.take(spec.name);
    if (this.options.duplicateRate && node.random.chance(this.options.duplicateRate))
      faults.push("duplicate");
    if (this.options.corruptRate && node.random.chance(this.options.corruptRate)) faults.push("corrupt");
    const dropped = faults.includes("drop");
    const heardBy: Heard[] = dropped
      ? []
      : receptions.map((r) => ({
          site: r.siteIndex,
          siteId: this.spec.sites[r.siteIndex]!.id,
          rssiDbm: r.rssiDbm,
          snrDb: r.snrDb,
        }));
    const frame: FrameTruth = {
      node: spec.name,
      devEui: spec.session.devEui.toUpperCase(),
      fcnt: tx.fcnt,
      fport: tx.fport,
      payload: tx.payload,
      phyPayload: tx.phyPayload,
      startMs: tx.startMs,
      endMs: tx.startMs + tx.airtimeMs,
      airtimeMs: tx.airtimeMs,
      sf: tx.sf,
      freqMhz: tx.freqMhz,
      channel: tx.channel,
      heardBy,
      faults,
    };
    this.truth.node(spec.name).frames.push(frame);
    this.counts.frames++;
    this.counts.airtimeMs += tx.airtimeMs;
    if (heardBy.length > 0) this.counts.heard++;
    this.counts.receptions += heardBy.length;
    const phy = faults.includes("corrupt")
      ? corruptFrame(tx.phyPayload, (n) => node.random.int(0, n - 1))
      : tx.phyPayload;
    const copies = faults.includes("duplicate") ? 2 : 1;
    const forwarded = heardBy.filter((h) => this.forwarders[h.site] !== undefined);
    const ticket = this.order.add(spec.name, tx.fcnt, forwarded.length * copies);
    for (const h of forwarded) {
      for (let c = 0; c < copies; c++) this.forward(h.site, { ...frame, phyPayload: phy }, h, ticket);
    }
    for (const listener of this.listeners) listener(frame);
  }

  private forward(site: number, frame: FrameTruth, heard: Heard, ticket?: OrderTicket): void {
    const forwarder = this.forwarders[site];
    if (forwarder === undefined) return;
    forwarder.enqueue(
      rxpkOf(
        {
          phyPayload: frame.phyPayload,
          endMs: frame.endMs,
          freqMhz: frame.freqMhz,
          channel: frame.channel,
          sf: frame.sf,
          bwKhz: 125,
          rssiDbm: heard.rssiDbm,
          snrDb: heard.snrDb,
        },
        this.tmstOffsets[site]!,
      ),
      ticket,
    );
  }

  private async apply(fault: Fault): Promise<void> {
    switch (fault.kind) {
      case "drop":
      case "duplicate":
      case "corrupt":
        this.node(fault.node); // throws for an unknown node
        this.faults.add(fault.node, fault.kind, fault.frames ?? 1);
        return;
      case "reboot":
        await this.node(fault.node).reboot(fault.cause, fault.keepState ?? true);
        return;
      case "restart-forwarder": {
        const forwarder =
          typeof fault.site === "number"
            ? this.forwarders[fault.site]
            : this.forwarders.find((f) => f.id === fault.site);
        if (forwarder === undefined) throw new Error(`no forwarder ${fault.site}`);
        // The forwarders may lag behind an accelerated clock: restart between receptions, as in real time.
        await this.flush();
        await forwarder.restart();
        return;
      }
      case "replay":
        // The original must have reached the gateway before its replay, as it would in real time.
        await this.flush();
        this.replay(fault.node, fault.fcnt, fault.sites);
        return;
    }
  }

  private replay(name: string, fcnt: number | undefined, sites: number[] | undefined): void {
    const frames = this.truth.node(name).frames;
    const old = fcnt === undefined ? frames[0] : frames.find((f) => f.fcnt === fcnt);
    if (old === undefined) throw new Error(`${name}: no frame ${fcnt ?? "sent yet"} to replay`);
    const node = this.node(name);
    const endMs = this.nowMs + old.airtimeMs;
    const targets =
      sites ?? (old.heardBy.length > 0 ? old.heardBy.map((h) => h.site) : this.spec.sites.map((_, i) => i));
    for (const site of targets) {
      const rssi = this.channel.linkRssiDbm(name, node.spec.position, site, node.spec.txPowerDbm);
      this.forward(
        site,
        { ...old, endMs },
        {
          site,
          siteId: this.spec.sites[site]?.id ?? String(site),
          rssiDbm: rssi,
          snrDb: snrDb(rssi),
        },
      );
    }
    this.truth.replays.push({ node: name, fcnt: old.fcnt, atMs: this.nowMs, sites: targets });
  }
}
