/**
 * The reference host of the node firmware on Node.js (hw/host-abi.md): the plain WebAssembly API, no
 * loader, no JS glue. Tests and the simulator run the real `node.wasm` through it; the module is compiled
 * once per path and cached, each node is one cheap instantiation.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ABI_VERSION, FPort } from "./abi.ts";
import { type WasmInstance, type WasmMemory, wasmApi } from "./wasm-api.ts";

export interface SensorReading {
  err: number;
  value: number;
}
/** Channel 0 temperature (0.01 °C), 1 relative humidity (0.01 %RH), 2 battery (mV). */
export type SensorReader = (channel: number) => SensorReading;

export interface BuiltUplink {
  fport: number;
  bytes: Uint8Array;
  /** now_s at which the module built it. */
  builtAt: number;
}

export interface NodeHostOptions {
  sensors: SensorReader;
  module?: WebAssembly.Module;
  wasmPath?: string;
  onLog?: (code: number, arg: number) => void;
}

export const DEFAULT_WASM_PATH: string = fileURLToPath(new URL("../build/node.wasm", import.meta.url));

interface FirmwareExports {
  memory: WasmMemory;
  _initialize(): void;
  abi_version(): number;
  state_ptr(): number;
  state_size(): number;
  state_seq(): number;
  init(now: number, resetCause: number, restored: number): number;
  clock_set(now: number): void;
  radio_set(sf: number, bwKhz: number, maxPayload: number): number;
  tick(now: number): number;
  pulse(channel: number, tMs: number, now: number): void;
  uplink_build(now: number): number;
  uplink_fport(): number;
  uplink_done(now: number, sent: number): void;
  tx_ptr(): number;
  rx_ptr(): number;
  rx_cap(): number;
  downlink(now: number, fport: number, len: number): number;
  status(): number;
  counter(id: number): number;
}

const REQUIRED_EXPORTS: readonly (keyof FirmwareExports)[] = [
  "memory",
  "_initialize",
  "abi_version",
  "state_ptr",
  "state_size",
  "state_seq",
  "init",
  "clock_set",
  "radio_set",
  "tick",
  "pulse",
  "uplink_build",
  "uplink_fport",
  "uplink_done",
  "tx_ptr",
  "rx_ptr",
  "rx_cap",
  "downlink",
  "status",
  "counter",
];

/** More uplinks than one drain can legitimately produce; a guard against a module that never stops. */
const MAX_UPLINKS_PER_DRAIN = 64;

const modules = new Map<string, Promise<WebAssembly.Module>>();

/** Compiles the firmware module at `path` once; later calls with the same path share it. */
export function loadFirmwareModule(path: string = DEFAULT_WASM_PATH): Promise<WebAssembly.Module> {
  const key = resolve(path);
  let module = modules.get(key);
  if (module === undefined) {
    module = compile(key);
    modules.set(key, module);
    module.catch(() => modules.delete(key));
  }
  return module;
}

async function compile(path: string): Promise<WebAssembly.Module> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`firmware module not found at ${path}: run \`npm run build\` first`, { cause: err });
  }
  return wasmApi.compile(bytes);
}

export class NodeHost {
  readonly exports: Record<string, unknown>;
  private readonly fw: FirmwareExports;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;

  private constructor(instance: WasmInstance, fw: FirmwareExports) {
    this.exports = instance.exports;
    this.fw = fw;
    // One page, never grown (hw/host-abi.md "The module"): the views stay valid for the instance's life.
    this.bytes = new Uint8Array(fw.memory.buffer);
    this.view = new DataView(fw.memory.buffer);
  }

  static async create(opts: NodeHostOptions): Promise<NodeHost> {
    const module = opts.module ?? (await loadFirmwareModule(opts.wasmPath));
    const { sensors, onLog } = opts;
    let host: NodeHost | undefined;
    const imports = {
      openherz: {
        sensor_read(channel: number, outPtr: number): number {
          const reading = sensors(channel >>> 0);
          if (reading.err === 0) host?.view.setInt32(outPtr >>> 0, reading.value | 0, true);
          return reading.err >>> 0;
        },
        log_event(code: number, arg: number): void {
          onLog?.(code >>> 0, arg >>> 0);
        },
      },
    };
    const instance = await wasmApi.instantiate(module, imports);
    host = new NodeHost(instance, checkExports(instance.exports));
    host.fw._initialize();
    const abi = host.fw.abi_version() >>> 0;
    if (abi !== ABI_VERSION) throw new Error(`firmware speaks host ABI ${abi}, this host ${ABI_VERSION}`);
    return host;
  }

  /** Starts the module; with `savedState` the blob is copied into the state region first. */
  init(nowS: number, resetCause: number, savedState?: Uint8Array): number {
    if (savedState !== undefined) {
      const size = this.fw.state_size() >>> 0;
      this.bytes.set(savedState.subarray(0, size), this.fw.state_ptr() >>> 0);
    }
    return this.fw.init(nowS, resetCause, savedState === undefined ? 0 : 1) >>> 0;
  }

  radioSet(sf: number, bwKhz: number, maxPayload: number): number {
    return this.fw.radio_set(sf, bwKhz, maxPayload) >>> 0;
  }

  /** Returns the seconds until the module needs the next tick. */
  tick(nowS: number): number {
    return this.fw.tick(nowS) >>> 0;
  }

  pulse(channel: number, tMs: number, nowS: number): void {
    this.fw.pulse(channel, tMs, nowS);
  }

  uplinkBuild(nowS: number): BuiltUplink | null {
    const len = this.fw.uplink_build(nowS) >>> 0;
    if (len === 0) return null;
    const at = this.fw.tx_ptr() >>> 0;
    return { fport: this.fw.uplink_fport() >>> 0, bytes: this.bytes.slice(at, at + len), builtAt: nowS };
  }

  uplinkDone(nowS: number, sent: boolean): void {
    this.fw.uplink_done(nowS, sent ? 1 : 0);
  }

  /**
   * Builds every due uplink, passes each to `transmit` (default: accept) and reports the result. Stops at
   * the first one not sent (the module would build it again). Returns the uplinks sent.
   */
  drainUplinks(nowS: number, transmit: (u: BuiltUplink) => boolean = () => true): BuiltUplink[] {
    const sent: BuiltUplink[] = [];
    for (let i = 0; i < MAX_UPLINKS_PER_DRAIN; i++) {
      const uplink = this.uplinkBuild(nowS);
      if (uplink === null) break;
      const ok = transmit(uplink);
      this.uplinkDone(nowS, ok);
      if (!ok) break;
      sent.push(uplink);
    }
    return sent;
  }

  /** Delivers a downlink; at most rx_cap() bytes are copied, the module sees the true length. */
  downlink(nowS: number, fport: number, bytes: Uint8Array): number {
    const cap = this.fw.rx_cap() >>> 0;
    this.bytes.set(bytes.subarray(0, cap), this.fw.rx_ptr() >>> 0);
    return this.fw.downlink(nowS, fport, bytes.length) >>> 0;
  }

  /** Provisioning writes the configuration through the downlink path (hw/host-abi.md). */
  configure(nowS: number, bytes: Uint8Array): number {
    return this.downlink(nowS, FPort.config, bytes);
  }

  clockSet(nowS: number): void {
    this.fw.clock_set(nowS);
  }

  /** A copy of the persistent state region. */
  saveState(): Uint8Array {
    const at = this.fw.state_ptr() >>> 0;
    return this.bytes.slice(at, at + (this.fw.state_size() >>> 0));
  }

  stateSeq(): number {
    return this.fw.state_seq() >>> 0;
  }

  status(): number {
    return this.fw.status() >>> 0;
  }

  counter(id: number): number {
    return this.fw.counter(id) >>> 0;
  }
}

function checkExports(exports: Record<string, unknown>): FirmwareExports {
  const missing = REQUIRED_EXPORTS.filter((name) => !(name in exports));
  if (missing.length > 0)
    throw new Error(`not a node firmware module: missing exports ${missing.join(", ")}`);
  return exports as unknown as FirmwareExports;
}
