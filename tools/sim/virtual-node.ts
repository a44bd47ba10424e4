/**
 * One simulated node: the real firmware module (firmware/build/node.wasm) on the Node reference host, its
 * sensors (climate model, bicycle pulses), and its host-side LoRaWAN MAC. It behaves as the host ABI
 * (hw/host-abi.md) asks of a device: sleeps as long as `tick` says, wakes for every pulse, builds and sends
 * uplinks right after waking, reports `uplink_done(…, 0)` when the duty cycle or the busy radio does not
 * allow a transmission and tries again when it does, and keeps the module's state across reboots.
 *
 * Every climate reading the module takes is recorded as ground truth (with the channels it rejected), and
 * so are the riders of the traffic generator.
 */
import { ResetCause, SensorError } from "../../firmware/host/abi.ts";
import { NodeHost, type SensorReading } from "../../firmware/host/node-host.ts";
import { wasmApi } from "../../firmware/host/wasm-api.ts";
import type { NodeSpec } from "./fleet-spec.ts";
import { type MacState, type Transmission, VirtualMac } from "./lorawan-mac.ts";
import { type ClimateModel, createClimateModel } from "./models/climate.ts";
import { Random } from "./models/random.ts";
import { provisioningConfig } from "./provisioning.ts";
import type { EventHandle, Scheduler } from "./scheduler.ts";
import { TrafficSource } from "./traffic-source.ts";
import type { NodeTruth } from "./truth.ts";

/** More uplinks than one wake can legitimately produce: a firmware bug. */
const MAX_UPLINKS_PER_WAKE = 64;
/** log_event code 1: a sample's channel was rejected (arg: channel). */
const LOG_SAMPLE_REJECTED = 1;

export interface NodeEnvironment {
  module: WebAssembly.Module;
  scheduler: Scheduler;
  /** End of the traffic the node will see, virtual Unix ms. */
  endMs: number;
  truth: NodeTruth;
  /** Every uplink that goes on air. */
  onTransmit(node: VirtualNode, tx: Transmission): void;
}

export interface NodeStats {
  uplinks: number;
  notSent: number;
  reboots: number;
  /** The module's diagnostic counters 0..10 (hw/host-abi.md). */
  counters: number[];
  status: number;
  nextFcnt: number;
  /** The last battery voltage the module read, mV. */
  batteryMv: number | undefined;
}

export class VirtualNode {
  readonly random: Random;
  private host!: NodeHost;
  private mac: VirtualMac;
  private readonly climate: ClimateModel;
  private readonly traffic: TrafficSource | undefined;
  /** The host's clock for the sensor callbacks: now_s of the call in progress. */
  private nowS = 0;
  /** Bumped by every reboot: events of an earlier instance are ignored. */
  private generation = 0;
  private retry: EventHandle | undefined;
  private uplinks = 0;
  private reboots = 0;
  private batteryMv: number | undefined;

  private constructor(
    readonly spec: NodeSpec,
    private readonly env: NodeEnvironment,
  ) {
    const root = new Random(spec.seed);
    this.climate = createClimateModel({ ...spec.climate, seed: root.int(0, 0xffffffff) });
    const trafficSeed = root.int(0, 0xffffffff);
    this.random = root.fork();
    this.mac = new VirtualMac(spec.session, spec.dataRate, root.fork(), initialMacState(spec.fcntStart));
    const startMs = env.scheduler.nowMs;
    this.traffic =
      spec.kind === "climate"
        ? undefined
        : new TrafficSource(spec.bike, trafficSeed, startMs, env.endMs, (riders) => {
            for (const r of riders) env.truth.riders.push(r);
          });
  }

  /** Instantiates the module and boots the node at the scheduler's current time (power-on, provisioning). */
  static async start(spec: NodeSpec, env: NodeEnvironment): Promise<VirtualNode> {
    const node = new VirtualNode(spec, env);
    node.host = await node.instantiate();
    node.boot(ResetCause.powerOn, undefined);
    node.schedulePulses();
    return node;
  }

  get name(): string {
    return this.spec.name;
  }

  get nextFcnt(): number {
    return this.mac.nextFcnt;
  }

  stats(): NodeStats {
    return {
      uplinks: this.uplinks,
      notSent: this.env.truth.notSent,
      reboots: this.reboots,
      counters: Array.from({ length: 11 }, (_, id) => this.host.counter(id)),
      status: this.host.status(),
      nextFcnt: this.mac.nextFcnt,
      batteryMv: this.batteryMv,
    };
  }

  /**
   * A reboot now: the module's state region is saved (as the host does whenever state_seq changes), a new
   * instance starts with it and `cause` (ResetCause; 6 = wake from deep sleep). With `keepState: false` the
   * blob is lost (a power cut before the save) and the host provisions the node again. The MAC state (FCnt,
   * duty cycle) is the host's and survives either way.
   */
  async reboot(cause: number = ResetCause.software, keepState = true): Promise<void> {
    const saved = keepState ? this.host.saveState() : undefined;
    const macState = this.mac.state();
    this.host = await this.instantiate();
    this.mac = new VirtualMac(this.spec.session, this.spec.dataRate, this.random.fork(), macState);
    this.reboots++;
    this.env.truth.reboots.push({ tS: Math.floor(this.env.scheduler.nowMs / 1000), cause });
    this.boot(cause, saved);
  }

  private instantiate(): Promise<NodeHost> {
    return NodeHost.create({
      module: this.env.module,
      sensors: (channel) => this.readSensor(channel),
      onLog: (code, arg) => this.onLog(code, arg),
    });
  }

  private boot(cause: number, saved: Uint8Array | undefined): void {
    this.generation++;
    this.retry?.cancel();
    this.retry = undefined;
    const nowS = this.setNow(this.env.scheduler.nowMs);
    this.host.init(nowS, cause, saved);
    const { sf, bwKhz, maxFrmPayload } = this.spec.dataRate;
    if (this.host.radioSet(sf, bwKhz, maxFrmPayload) !== 0) {
      throw new Error(`${this.name}: radio_set(SF${sf}, ${bwKhz}, ${maxFrmPayload}) rejected`);
    }
    if (saved === undefined) {
      const result = this.host.configure(nowS, provisioningConfig(this.spec));
      if (result !== 0)
        throw new Error(`${this.name}: provisioning configuration rejected (result ${result})`);
    }
    this.onTick(this.generation);
  }

  private setNow(nowMs: number): number {
    this.nowS = Math.floor(nowMs / 1000);
    return this.nowS;
  }

  private readSensor(channel: number): SensorReading {
    const climateFitted = this.spec.kind !== "bike";
    if (channel === 2) {
      this.batteryMv = this.climate.at(this.nowS).batteryMv;
      return { err: SensorError.ok, value: this.batteryMv };
    }
    if (!climateFitted || (channel !== 0 && channel !== 1)) return { err: SensorError.notFitted, value: 0 };
    const r = this.climate.at(this.nowS);
    const value = channel === 0 ? r.temperatureCenti : r.humidityCenti;
    const samples = this.env.truth.climate;
    let last = samples[samples.length - 1];
    if (last === undefined || last.tS !== this.nowS || (channel === 0 && last.temperatureCenti !== null)) {
      last = {
        tS: this.nowS,
        temperatureCenti: null,
        humidityCenti: null,
        rejected: { temperature: false, humidity: false },
      };
      samples.push(last);
    }
    if (channel === 0) last.temperatureCenti = value;
    else last.humidityCenti = value;
    return { err: SensorError.ok, value };
  }

  private onLog(code: number, arg: number): void {
    if (code !== LOG_SAMPLE_REJECTED) return;
    const last = this.env.truth.climate[this.env.truth.climate.length - 1];
    if (last === undefined || last.tS !== this.nowS) return;
    if (arg === 0) last.rejected.temperature = true;
    if (arg === 1) last.rejected.humidity = true;
  }

  /** The wake the module asked for: tick, then send what is due, then sleep as long as it says. */
  private onTick(generation: number): void | Promise<void> {
    if (generation !== this.generation) return;
    return this.guard(() => {
      const nowMs = this.env.scheduler.nowMs;
      const wakeS = this.host.tick(this.setNow(nowMs));
      this.drain(nowMs);
      const gen = this.generation;
      this.env.scheduler.at((this.nowS + wakeS) * 1000, () => this.onTick(gen));
    });
  }

  private schedulePulses(): void {
    const next = this.traffic?.peekMs();
    if (next !== undefined) this.env.scheduler.at(next, () => this.onPulses());
  }

  /** Every pulse due now (a rider's wheels may share a millisecond), then whatever became due. */
  private onPulses(): void | Promise<void> {
    const traffic = this.traffic!;
    const nowMs = this.env.scheduler.nowMs;
    const result = this.guard(() => {
      for (let t = traffic.peekMs(); t !== undefined && t <= nowMs; t = traffic.peekMs()) {
        const p = traffic.shift()!;
        this.host.pulse(p.channel, p.tMs >>> 0, this.setNow(p.tMs));
      }
      this.drain(nowMs);
    });
    this.schedulePulses();
    return result;
  }

  private onRetry(generation: number): void | Promise<void> {
    if (generation !== this.generation) return;
    this.retry = undefined;
    return this.guard(() => this.drain(this.env.scheduler.nowMs));
  }

  /** uplink_build until nothing is due or the MAC cannot send; a refusal is retried when it can. */
  private drain(nowMs: number): void {
    const nowS = this.setNow(nowMs);
    for (let n = 0; n < MAX_UPLINKS_PER_WAKE; n++) {
      const uplink = this.host.uplinkBuild(nowS);
      if (uplink === null) return;
      const result = this.mac.transmit(nowMs, uplink.fport, uplink.bytes);
      this.host.uplinkDone(nowS, result.sent);
      if (!result.sent) {
        this.env.truth.notSent++;
        this.scheduleRetry(result.retryAtMs);
        return;
      }
      this.uplinks++;
      this.env.onTransmit(this, result.tx);
    }
    throw new Error(`${this.name}: more than ${MAX_UPLINKS_PER_WAKE} uplinks in one wake`);
  }

  private scheduleRetry(atMs: number): void {
    if (this.retry !== undefined && this.retry.atMs <= atMs) return;
    this.retry?.cancel();
    const gen = this.generation;
    this.retry = this.env.scheduler.at(atMs, () => this.onRetry(gen));
  }

  /** A trap in the module is what a watchdog reset is on the device (hw/host-abi.md). */
  private guard(fn: () => void): void | Promise<void> {
    try {
      fn();
    } catch (err) {
      if (err instanceof wasmApi.RuntimeError) return this.reboot(ResetCause.watchdog);
      throw err;
    }
  }
}

function initialMacState(fcntStart: number): MacState {
  return { fcntUp: fcntStart, duty: { closedUntilMs: [] }, radioFreeAtMs: Number.NEGATIVE_INFINITY };
}
