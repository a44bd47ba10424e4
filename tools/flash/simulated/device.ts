// A simulated OpenHerz node on a real serial line: it speaks the provisioning protocol
// (hw/provisioning-protocol.md) on its end of a pseudo-terminal, keeps what it is given in a state directory
// (store.ts), and runs the module of its active slot in the simulator host (node-runtime.ts): before the first
// commit the factory module, after a commit the flashed one. With a gateway address its uplinks go out
// through a virtual Semtech UDP packet forwarder, as a real node's go through a real gateway.
//
// Unplugging (the pty disappears) does not stop the node: it keeps running its module, as a node on its
// battery does, and answers again when the link comes back under the same path.
import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { SerialPort } from "serialport";
import { ResetCause, SensorError } from "../../../firmware/host/abi.ts";
import { DEFAULT_WASM_PATH, NodeHost, type SensorReading } from "../../../firmware/host/node-host.ts";
import { wasmApi } from "../../../firmware/host/wasm-api.ts";
import { eu868DataRateForSf } from "../../../shared/airtime.ts";
import type { AbpSession, Transmission } from "../../sim/lorawan-mac.ts";
import { type ClimateModel, type ClimateModelOptions, createClimateModel } from "../../sim/models/climate.ts";
import { type ForwarderTarget, PacketForwarder } from "../../sim/packet-forwarder.ts";
import { rxpkOf } from "../../sim/rxpk.ts";
import { FlashError } from "../errors.ts";
import { LineSplitter } from "../lines.ts";
import { inspectFirmware, sha256Hex } from "../module-info.ts";
import {
  DEFAULT_BAUD_RATE,
  ErrorCode,
  type FwInfo,
  fromHex,
  MAX_LINE_LENGTH,
  type NodeStatus,
  type Reading,
  reply,
  type SelfTest,
} from "../protocol.ts";
import { DeviceClock } from "./clock.ts";
import {
  type BoardInfo,
  CommandError,
  type DeviceCore,
  type DeviceFaults,
  handleCommand,
  NO_FAULTS,
} from "./commands.ts";
import { NodeRuntime } from "./node-runtime.ts";
import { DeviceStore, fwInfo, otherSlot } from "./store.ts";

export interface SimulatedDeviceOptions {
  /** The device's end of the serial link (a pty, or a symlink to one). */
  path: string;
  /** Non-volatile memory; created as a factory-fresh node if empty. */
  stateDir: string;
  /** Default "sim". */
  board?: string;
  /** Default "sim-1". */
  hwRev?: string;
  /** Native host version, default "0.1.0". */
  hostVersion?: string;
  /** Host ABI the simulated host implements, default 1. */
  abi?: number;
  /** Factory EUI-64 of a new state directory (default random). */
  eui?: string;
  /** The factory module (default firmware/build/node.wasm). */
  factoryWasm?: string;
  /** Virtual seconds per wall second, default 1. */
  speed?: number;
  /** Virtual clock at start, Unix ms (default now). The node's clock follows it until AT+TIME. */
  startMs?: number;
  /** Spreading factor 7..12, default 9 (DR3, hw/node-board.md §7). */
  sf?: number;
  /** Where the virtual packet forwarder sends the node's uplinks; none: they are only reported. */
  gateway?: ForwarderTarget;
  /** Climate sensor model (tools/sim/models/climate.ts) and whether it is fitted (default true). */
  climate?: Omit<ClimateModelOptions, "seed">;
  climateFitted?: boolean;
  seed?: number;
  faults?: Partial<DeviceFaults>;
  /** Human-readable events (link up/down, module starts, uplinks). */
  log?: (message: string) => void;
  /** How often the link is checked for a replug, wall ms. Default 100. */
  pollMs?: number;
}

export interface DeviceUplink {
  fcnt: number;
  fport: number;
  payload: Uint8Array;
  phyPayload: Uint8Array;
  devAddr: string;
  /** End of transmission on the node's clock, Unix ms. */
  unixEndMs: number;
  /** SHA-256 of the module that built it. */
  moduleSha256: string;
}

const modules = new Map<string, Promise<WebAssembly.Module>>();

function compileCached(sha256: string, bytes: Uint8Array): Promise<WebAssembly.Module> {
  let m = modules.get(sha256);
  if (m === undefined) {
    m = wasmApi.compile(bytes);
    modules.set(sha256, m);
    m.catch(() => modules.delete(sha256));
  }
  return m;
}

function sessionKey(s: AbpSession | undefined): string {
  return s === undefined ? "" : `${s.devAddr}/${s.nwkSKey}/${s.appSKey}`;
}

export class SimulatedDevice implements DeviceCore {
  readonly faults: DeviceFaults;
  readonly board: BoardInfo;
  private readonly clock: DeviceClock;
  private readonly climate: ClimateModel;
  private runtime: NodeRuntime | undefined;
  private currentSession = "";
  private forwarder: PacketForwarder | undefined;
  private readonly tmstOffsetUs: number;
  private port: SerialPort | undefined;
  private opening = false;
  private openedTarget: string | undefined;
  private readonly splitter = new LineSplitter(MAX_LINE_LENGTH);
  private queue: Promise<void> = Promise.resolve();
  private poll: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly uplinkListeners = new Set<(u: DeviceUplink) => void>();
  private readonly chunkListeners = new Set<(received: number, size: number) => void>();
  private counts = { uplinks: 0, moduleStarts: 0, linkUps: 0 };

  private constructor(
    readonly store: DeviceStore,
    private readonly o: SimulatedDeviceOptions,
  ) {
    this.faults = { ...NO_FAULTS, ...o.faults };
    this.board = {
      board: o.board ?? "sim",
      hwRev: o.hwRev ?? "sim-1",
      hostVersion: o.hostVersion ?? "0.1.0",
      abi: o.abi ?? 1,
    };
    this.clock = new DeviceClock(o.startMs ?? Date.now(), o.speed ?? 1);
    this.climate = createClimateModel({ ...o.climate, seed: o.seed ?? 1 });
    this.tmstOffsetUs = ((o.seed ?? 1) * 2654435761) >>> 0;
  }

  static async start(o: SimulatedDeviceOptions): Promise<SimulatedDevice> {
    const factoryPath = o.factoryWasm ?? DEFAULT_WASM_PATH;
    const factory = await inspectFirmware(factoryPath, new Uint8Array(await readFile(factoryPath)));
    const store = await DeviceStore.open(o.stateDir, {
      factory: {
        bytes: factory.bytes,
        info: { size: factory.bytes.length, sha256: factory.sha256, fw: factory.fwVersion, abi: factory.abi },
      },
      ...(o.eui !== undefined && { eui: o.eui }),
    });
    const device = new SimulatedDevice(store, o);
    try {
      if (o.gateway !== undefined) {
        device.forwarder = await PacketForwarder.open({
          id: "usb-sim",
          gatewayEui: "5EEDFFFE0000F1A5",
          target: o.gateway,
          location: { lat: 52.3745, lon: 9.7386, altM: 30 },
          virtualNow: () => device.clock.nowMs() + store.record.clock.offsetMs,
          statIntervalMs: 0,
        });
      }
      await device.startModule(ResetCause.powerOn);
      device.poll = setInterval(() => device.checkLink(), o.pollMs ?? 100);
      device.checkLink();
    } catch (err) {
      await device.close();
      throw err;
    }
    return device;
  }

  // --- what tests and the rehearsal CLI look at ------------------------------------------------------

  /** The module the node runs now. */
  activeModule(): FwInfo {
    const r = this.store.record;
    return fwInfo(r.active, r.slots[r.active]!);
  }

  stats(): { uplinks: number; moduleStarts: number; linkUps: number; connected: boolean } {
    return { ...this.counts, connected: this.port?.isOpen === true };
  }

  onUplink(listener: (u: DeviceUplink) => void): () => void {
    this.uplinkListeners.add(listener);
    return () => this.uplinkListeners.delete(listener);
  }

  /** Called after every chunk the node stored, with the bytes received so far. */
  onChunkStored(listener: (received: number, size: number) => void): () => void {
    this.chunkListeners.add(listener);
    return () => this.chunkListeners.delete(listener);
  }

  /** Resolves with the next uplink for which `predicate` holds. */
  nextUplink(
    predicate: (u: DeviceUplink) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<DeviceUplink> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no uplink from the simulated device within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onUplink((u) => {
        if (!predicate(u)) return;
        clearTimeout(timer);
        off();
        resolve(u);
      });
    });
  }

  /** Every forwarded uplink acknowledged by the gateway (or timed out). */
  async flush(): Promise<void> {
    await this.forwarder?.whenBacklogAtMost(0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    this.runtime?.stop();
    this.clock.close();
    await this.closePort();
    await this.queue;
    await this.forwarder?.close();
    await this.store.flush();
  }

  // --- DeviceCore: what the protocol handler needs ---------------------------------------------------

  async identityChanged(): Promise<void> {
    const session = this.session();
    const key = sessionKey(session);
    if (key === this.currentSession) return;
    // A new session: the frame counter starts again (provisioning-protocol.md "Identification and identity").
    this.currentSession = key;
    this.store.record.mac.fcntUp = 0;
    await this.store.save();
    this.runtime?.setSession(session, 0);
  }

  configure(bytes: Uint8Array): number {
    return this.runtime?.configure(bytes) ?? 255;
  }

  async setClock(unixS: number): Promise<void> {
    const r = this.store.record;
    r.clock = { offsetMs: unixS * 1000 - this.clock.nowMs(), set: true };
    await this.store.save();
    this.runtime?.clockSet();
  }

  nodeTimeS(): number {
    return Math.floor((this.clock.nowMs() + this.store.record.clock.offsetMs) / 1000);
  }

  async commit(): Promise<FwInfo> {
    const store = this.store;
    const r = store.record;
    const u = r.upload!;
    const slot = otherSlot(r.active);
    const discard = async () => {
      r.upload = null;
      await store.save();
      await store.eraseSlot(slot);
    };
    const bytes = await store.readSlot(slot, u.size);
    let image: Awaited<ReturnType<typeof inspectFirmware>>;
    try {
      image = await inspectFirmware(`slot ${slot}`, bytes);
    } catch (err) {
      await discard();
      throw new CommandError(ErrorCode.moduleInvalid, (err as Error).message);
    }
    if (image.sha256 !== u.sha256) {
      await discard();
      throw new CommandError(ErrorCode.hashMismatch, "hash mismatch at commit; upload discarded");
    }
    if (image.abi !== this.board.abi) {
      await discard();
      throw new CommandError(
        ErrorCode.abiMismatch,
        `module speaks host ABI ${image.abi}, this host ${this.board.abi}; upload discarded`,
      );
    }
    // Trial instantiation while the old module keeps running.
    const module = await compileCached(image.sha256, bytes);
    try {
      await NodeHost.create({ module, sensors: () => ({ err: SensorError.notFitted, value: 0 }) });
    } catch (err) {
      await discard();
      throw new CommandError(ErrorCode.moduleInvalid, `module invalid: ${(err as Error).message}`);
    }
    // The switch: one write of the record decides which slot is active. The old module runs until it is done.
    const previous = { active: r.active, slots: { ...r.slots }, upload: r.upload };
    r.slots[slot] = { size: u.size, sha256: u.sha256, fw: image.fwVersion, abi: image.abi, origin: "upload" };
    r.active = slot;
    r.upload = null;
    try {
      if (this.faults.flashWriteError) throw new Error("simulated flash fault");
      await store.save();
    } catch (err) {
      Object.assign(r, previous);
      throw new CommandError(ErrorCode.flashWrite, `flash write error: ${(err as Error).message}`);
    }
    const saved = this.stopModule();
    try {
      await this.startModule(ResetCause.software, saved);
    } catch (err) {
      r.active = previous.active;
      await store.save();
      await this.startModule(ResetCause.software, saved);
      throw new CommandError(ErrorCode.moduleInvalid, `module failed to start: ${(err as Error).message}`);
    }
    this.log(`module committed: fw ${image.fwVersion}, SHA-256 ${image.sha256.slice(0, 16)}…, slot ${slot}`);
    return this.activeModule();
  }

  selfTest(): SelfTest {
    const nowS = this.nodeTimeS();
    const read = (channel: number): Reading => {
      const r = this.readSensor(channel, nowS);
      return r.err === 0 ? { ok: true, value: r.value } : { ok: false, error: r.err };
    };
    const radioError = this.faults.radioError;
    return {
      temperature: read(0),
      humidity: read(1),
      battery: read(2),
      radio: radioError === undefined ? { ok: true } : { ok: false, error: radioError },
      noiseDbm: radioError === undefined ? -117 : undefined,
    };
  }

  status(): NodeStatus {
    return this.runtime?.status() ?? { uptimeS: 0, fcnt: 0, uplinks: 0, flags: 0, session: "none" };
  }

  reboot(): void {
    // After the OK has gone out, as a real node would.
    setTimeout(() => {
      if (this.closed) return;
      const saved = this.stopModule();
      this.startModule(ResetCause.software, saved).catch((err) => this.log(`reboot failed: ${err}`));
    }, 10);
  }

  onChunk(received: number, size: number): void {
    for (const l of this.chunkListeners) l(received, size);
  }

  // --- the module -------------------------------------------------------------------------------------

  private session(): AbpSession | undefined {
    const id = this.store.record.identity;
    if (id.devAddr === undefined || id.nwkSKey === undefined || id.appSKey === undefined) return undefined;
    return {
      devEui: id.devEui ?? this.store.record.eui,
      devAddr: id.devAddr,
      nwkSKey: id.nwkSKey,
      appSKey: id.appSKey,
    };
  }

  private stopModule(): Uint8Array | undefined {
    const runtime = this.runtime;
    this.runtime = undefined;
    if (runtime === undefined) return undefined;
    runtime.stop();
    return runtime.saveState();
  }

  /** Starts the active slot's module; a slot whose hash does not verify falls back to the other one. */
  private async startModule(cause: number, saved?: Uint8Array): Promise<void> {
    const store = this.store;
    const r = store.record;
    let slot = r.active;
    let info = r.slots[slot]!;
    let bytes = await store.readSlot(slot, info.size);
    if (sha256Hex(bytes) !== info.sha256) {
      const other = r.slots[otherSlot(slot)];
      if (other === undefined)
        throw new FlashError("firmware", `slot ${slot} is damaged and there is no other`);
      this.log(`slot ${slot} does not verify: falling back to slot ${otherSlot(slot)}`);
      slot = otherSlot(slot);
      info = other;
      r.active = slot;
      await store.save();
      bytes = await store.readSlot(slot, info.size);
    }
    const module = await compileCached(info.sha256, bytes);
    const session = this.session();
    this.currentSession = sessionKey(session);
    const moduleSha = info.sha256;
    this.runtime = await NodeRuntime.start({
      module,
      resetCause: cause,
      savedState: saved ?? (await store.loadModuleState()),
      provisioningConfig: r.config === null ? undefined : fromHex(r.config.hex),
      session,
      fcntUp: r.mac.fcntUp,
      dataRate: eu868DataRateForSf(this.o.sf ?? 9),
      seed: (this.o.seed ?? 1) + this.counts.moduleStarts,
      hooks: {
        clock: this.clock,
        offsetMs: () => store.record.clock.offsetMs,
        readSensor: (channel, nowS) => this.readSensor(channel, nowS),
        onTransmit: (tx, unixEndMs) => this.transmitted(tx, unixEndMs, moduleSha),
        onFcnt: (fcnt) => {
          store.record.mac.fcntUp = fcnt;
          store.save().catch((err) => this.log(`cannot save the frame counter: ${err}`));
        },
        onModuleState: (blob) => {
          store.saveModuleState(blob).catch((err) => this.log(`cannot save the module state: ${err}`));
        },
        onTrap: (err) => {
          this.log(`module trapped (${err.message}): watchdog reset`);
          this.runtime = undefined;
          this.startModule(ResetCause.watchdog).catch((e) => this.log(`restart failed: ${e}`));
        },
      },
    });
    this.counts.moduleStarts++;
    this.write([reply.comment(`OpenHerz ${this.board.board} ready, fw ${info.fw}`)]);
  }

  private readSensor(channel: number, nowS: number): SensorReading {
    const reading = this.climate.at(nowS);
    if (channel === 2) return { err: SensorError.ok, value: reading.batteryMv };
    if (channel > 2 || this.o.climateFitted === false) return { err: SensorError.notFitted, value: 0 };
    return { err: SensorError.ok, value: channel === 0 ? reading.temperatureCenti : reading.humidityCenti };
  }

  private transmitted(tx: Transmission, unixEndMs: number, moduleSha256: string): void {
    this.counts.uplinks++;
    const devAddr = this.store.record.identity.devAddr ?? "";
    this.forwarder?.enqueue(
      rxpkOf(
        {
          phyPayload: tx.phyPayload,
          endMs: unixEndMs,
          freqMhz: tx.freqMhz,
          channel: tx.channel,
          sf: tx.sf,
          bwKhz: tx.bwKhz,
          rssiDbm: -85,
          snrDb: 8,
        },
        this.tmstOffsetUs,
      ),
    );
    this.log(`uplink FCnt ${tx.fcnt} FPort ${tx.fport}, ${tx.payload.length} bytes`);
    const uplink: DeviceUplink = {
      fcnt: tx.fcnt,
      fport: tx.fport,
      payload: tx.payload,
      phyPayload: tx.phyPayload,
      devAddr,
      unixEndMs,
      moduleSha256,
    };
    for (const l of this.uplinkListeners) l(uplink);
  }

  // --- the serial link --------------------------------------------------------------------------------

  private checkLink(): void {
    if (this.closed) return;
    let target: string | undefined;
    try {
      target = realpathSync(this.o.path);
    } catch {
      target = undefined;
    }
    if (this.port !== undefined && target !== this.openedTarget) void this.closePort();
    if (this.port === undefined && !this.opening && target !== undefined) this.openPort(target);
  }

  private openPort(target: string): void {
    this.opening = true;
    const port = new SerialPort({ path: this.o.path, baudRate: DEFAULT_BAUD_RATE, autoOpen: false });
    port.on("error", () => {});
    port.open((err) => {
      this.opening = false;
      if (err || this.closed) {
        if (!err) port.close(() => {});
        return;
      }
      this.port = port;
      this.openedTarget = target;
      this.splitter.reset();
      this.counts.linkUps++;
      this.log(`USB link up on ${this.o.path}`);
      port.on("data", (chunk: Buffer) => {
        for (const event of this.splitter.push(chunk)) {
          this.queue = this.queue
            .then(() => this.process(event))
            .catch((e) => this.log(`command failed: ${e}`));
        }
      });
      port.on("close", () => {
        if (this.port !== port) return;
        this.port = undefined;
        this.openedTarget = undefined;
        this.log("USB link down");
      });
    });
  }

  private async closePort(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.openedTarget = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private async process(event: ReturnType<LineSplitter["push"]>[number]): Promise<void> {
    if (this.faults.silent) return;
    if (event.kind === "overflow") {
      this.write([
        reply.error(ErrorCode.lineTooLong, `line of ${event.bytes} characters, at most ${MAX_LINE_LENGTH}`),
      ]);
      return;
    }
    if (event.line.trim() === "") return;
    const answer = await handleCommand(this, event.line);
    // A fault switched on while the command ran (a test pulling the cable at this very chunk) eats the answer.
    if (!this.faults.silent) this.write(answer);
  }

  private write(lines: string[]): void {
    const port = this.port;
    if (port?.isOpen !== true) return;
    port.write(lines.map((l) => `${l}\r\n`).join(""), "latin1");
  }

  private log(message: string): void {
    this.o.log?.(message);
  }
}
