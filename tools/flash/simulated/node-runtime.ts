// One start of the module on the simulated node: the Node reference host (firmware/host/node-host.ts) running
// the module from the active slot, the simulator's LoRaWAN MAC (tools/sim/lorawan-mac.ts: ABP, 32-bit FCnt,
// EU868 duty cycle), and the host's duties of hw/host-abi.md — call order, wake when `tick` says, send what
// `uplink_build` gives, persist the state region when `state_seq` changes. A commit or a reboot stops this
// runtime and starts a new one; the MAC's frame counter and the state region are handed over by the device.
import { Flag } from "../../../firmware/host/abi.ts";
import { NodeHost, type SensorReading } from "../../../firmware/host/node-host.ts";
import { wasmApi } from "../../../firmware/host/wasm-api.ts";
import type { DataRate } from "../../../shared/airtime.ts";
import { type AbpSession, type Transmission, VirtualMac } from "../../sim/lorawan-mac.ts";
import { Random } from "../../sim/models/random.ts";
import type { NodeStatus } from "../protocol.ts";
import type { ClockTimer, DeviceClock } from "./clock.ts";

/** More uplinks than one wake can legitimately produce: a firmware bug. */
const MAX_UPLINKS_PER_WAKE = 64;

export interface RuntimeHooks {
  clock: DeviceClock;
  /** The node's Unix ms = clock.nowMs() + offsetMs(). */
  offsetMs(): number;
  /** A sensor read at the node's time `nowS`. */
  readSensor(channel: number, nowS: number): SensorReading;
  /** An uplink went on air; `unixEndMs` is the end of the transmission on the node's clock. */
  onTransmit(tx: Transmission, unixEndMs: number): void;
  /** The MAC's next frame counter changed (persist it before the next uplink). */
  onFcnt(fcntUp: number): void;
  /** The state region changed (persist it). */
  onModuleState(blob: Uint8Array): void;
  /** The module trapped: on a device, the watchdog resets it. */
  onTrap(err: Error): void;
}

export interface RuntimeStart {
  module: WebAssembly.Module;
  resetCause: number;
  savedState: Uint8Array | undefined;
  /** Applied when the module starts without a valid state region. */
  provisioningConfig: Uint8Array | undefined;
  session: AbpSession | undefined;
  fcntUp: number;
  dataRate: DataRate;
  seed: number;
  hooks: RuntimeHooks;
}

export class NodeRuntime {
  private mac: VirtualMac | undefined;
  private wakeTimer: ClockTimer | undefined;
  private retryTimer: ClockTimer | undefined;
  private stopped = false;
  private lastSeq = -1;
  private uplinks = 0;
  private readonly startedAtS: number;
  private readonly random: Random;

  private constructor(
    private readonly host: NodeHost,
    private readonly o: RuntimeStart,
  ) {
    this.random = new Random(o.seed);
    this.startedAtS = this.nowS();
    this.mac = this.makeMac(o.session, o.fcntUp);
  }

  /** Instantiates and starts the module (host ABI call order); throws if it cannot run. */
  static async start(o: RuntimeStart): Promise<NodeRuntime> {
    let runtime: NodeRuntime | undefined;
    const host = await NodeHost.create({
      module: o.module,
      sensors: (channel) => o.hooks.readSensor(channel, runtime?.nowS() ?? nodeNowS(o.hooks)),
    });
    runtime = new NodeRuntime(host, o);
    const nowS = runtime.nowS();
    const flags = host.init(nowS, o.resetCause, o.savedState);
    const { sf, bwKhz, maxFrmPayload } = o.dataRate;
    host.radioSet(sf, bwKhz, maxFrmPayload);
    if (o.provisioningConfig !== undefined && (o.savedState === undefined || flags & Flag.stateInvalid)) {
      host.configure(nowS, o.provisioningConfig);
    }
    runtime.wake();
    return runtime;
  }

  nowS(): number {
    return nodeNowS(this.o.hooks);
  }

  /** A new (or no) ABP session; the MAC starts at `fcntUp`. */
  setSession(session: AbpSession | undefined, fcntUp: number): void {
    this.mac = this.makeMac(session, fcntUp);
    if (this.mac !== undefined) this.schedule(0);
  }

  private makeMac(session: AbpSession | undefined, fcntUp: number): VirtualMac | undefined {
    if (session === undefined) return undefined;
    return new VirtualMac(session, this.o.dataRate, this.random.fork(), {
      fcntUp,
      duty: { closedUntilMs: [] },
      radioFreeAtMs: Number.NEGATIVE_INFINITY,
    });
  }

  /** AT+CONFIG: the downlink path (hw/host-abi.md "Provisioning writes the configuration…"). */
  configure(bytes: Uint8Array): number {
    const result = this.guarded(() => this.host.configure(this.nowS(), bytes)) ?? 255;
    this.persist();
    this.schedule(0); // the status that acknowledges it
    return result;
  }

  /** AT+TIME: the host's clock stepped; the module shifts what it holds. */
  clockSet(): void {
    this.guarded(() => this.host.clockSet(this.nowS()));
    this.persist();
  }

  status(): NodeStatus {
    return {
      uptimeS: Math.max(0, this.nowS() - this.startedAtS),
      fcnt: this.mac?.nextFcnt ?? 0,
      uplinks: this.uplinks,
      flags: this.host.status(),
      session: this.mac === undefined ? "none" : "abp",
    };
  }

  saveState(): Uint8Array {
    return this.host.saveState();
  }

  stop(): void {
    this.stopped = true;
    this.wakeTimer?.cancel();
    this.retryTimer?.cancel();
  }

  private schedule(delayS: number): void {
    if (this.stopped) return;
    this.wakeTimer?.cancel();
    const clock = this.o.hooks.clock;
    this.wakeTimer = clock.at(clock.nowMs() + delayS * 1000, () => this.wake());
  }

  /** The wake the module asked for: tick, send what is due, sleep as long as it says. */
  private wake(): void {
    if (this.stopped) return;
    const next = this.guarded(() => {
      const seconds = this.host.tick(this.nowS());
      this.drain();
      return seconds;
    });
    this.persist();
    if (next !== undefined) this.schedule(next);
  }

  private drain(): void {
    const mac = this.mac;
    if (mac === undefined) return; // no session: nothing can be sent, the module keeps its data
    const clock = this.o.hooks.clock;
    for (let n = 0; n < MAX_UPLINKS_PER_WAKE; n++) {
      const nowS = this.nowS();
      const uplink = this.host.uplinkBuild(nowS);
      if (uplink === null) return;
      const result = mac.transmit(clock.nowMs(), uplink.fport, uplink.bytes);
      this.host.uplinkDone(nowS, result.sent);
      if (!result.sent) {
        this.retryTimer?.cancel();
        this.retryTimer = clock.at(result.retryAtMs, () => {
          if (this.stopped) return;
          this.guarded(() => this.drain());
          this.persist();
        });
        return;
      }
      this.uplinks++;
      this.o.hooks.onFcnt(mac.nextFcnt);
      this.o.hooks.onTransmit(result.tx, result.tx.startMs + result.tx.airtimeMs + this.o.hooks.offsetMs());
    }
    throw new Error(`more than ${MAX_UPLINKS_PER_WAKE} uplinks in one wake`);
  }

  private persist(): void {
    if (this.stopped) return;
    const seq = this.host.stateSeq();
    if (seq === this.lastSeq) return;
    this.lastSeq = seq;
    this.o.hooks.onModuleState(this.host.saveState());
  }

  /** A trap is what a watchdog reset is on the device (hw/host-abi.md). */
  private guarded<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (err instanceof wasmApi.RuntimeError) {
        this.stop();
        this.o.hooks.onTrap(err);
        return undefined;
      }
      throw err;
    }
  }
}

function nodeNowS(hooks: RuntimeHooks): number {
  return Math.floor((hooks.clock.nowMs() + hooks.offsetMs()) / 1000);
}
