// The simulated node's non-volatile memory: a directory that stands for the flash partitions of
// hw/node-board.md §3. `device.json` holds what NVS would (identity, keys, configuration, the slot headers, the
// upload in progress, the clock and the MAC's frame counter); `slot-a.wasm`/`slot-b.wasm` are the module
// slots; `module-state.bin` is the module's state region. Closing the pty ("unplugging") loses nothing;
// restarting the device on the same directory is a power cycle.
//
// device.json is written like the registry: temp file, fsync, rename, fsync the directory. Mode 0600: it holds
// the session keys, as NVS does.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FwInfo, Location, ModuleOrigin } from "../protocol.ts";

export type Slot = "a" | "b";

export interface SlotRecord {
  size: number;
  sha256: string;
  /** fw_version as "x.y.z". */
  fw: string;
  abi: number;
  origin: ModuleOrigin;
}

export interface UploadRecord {
  size: number;
  sha256: string;
  received: number;
  verified: boolean;
}

export interface DeviceRecord {
  version: 1;
  /** The board's factory EUI-64: fixed when the directory is created. */
  eui: string;
  active: Slot;
  slots: Partial<Record<Slot, SlotRecord>>;
  upload: UploadRecord | null;
  identity: { devEui?: string; devAddr?: string; nwkSKey?: string; appSKey?: string };
  config: { hex: string; result: number; cfgId: number } | null;
  location: Location | null;
  /** The node's Unix ms = virtual clock + offsetMs; `set` once AT+TIME was given. */
  clock: { offsetMs: number; set: boolean };
  /** The MAC's next uplink frame counter of the current session. */
  mac: { fcntUp: number };
}

export interface StoreInit {
  factory: { bytes: Uint8Array; info: Omit<SlotRecord, "origin"> };
  eui?: string;
}

export function otherSlot(slot: Slot): Slot {
  return slot === "a" ? "b" : "a";
}

export function fwInfo(slot: Slot, record: SlotRecord): FwInfo {
  return { slot, ...record };
}

export class DeviceStore {
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly record: DeviceRecord,
  ) {}

  /** Opens the directory, or creates it as a factory-fresh node: factory module in slot A, nothing else. */
  static async open(dir: string, init: StoreInit): Promise<DeviceStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let text: string | undefined;
    try {
      text = await readFile(join(dir, "device.json"), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (text !== undefined) return new DeviceStore(dir, JSON.parse(text) as DeviceRecord);
    const store = new DeviceStore(dir, {
      version: 1,
      eui: (init.eui ?? randomBytes(8).toString("hex")).toUpperCase(),
      active: "a",
      slots: { a: { ...init.factory.info, origin: "factory" } },
      upload: null,
      identity: {},
      config: null,
      location: null,
      clock: { offsetMs: 0, set: false },
      mac: { fcntUp: 0 },
    });
    await writeFile(store.slotPath("a"), init.factory.bytes);
    await store.save();
    return store;
  }

  slotPath(slot: Slot): string {
    return join(this.dir, `slot-${slot}.wasm`);
  }

  /** Saves device.json atomically; saves queue behind each other. */
  save(): Promise<void> {
    const text = `${JSON.stringify(this.record, null, 2)}\n`;
    const run = this.saving.then(() => writeAtomic(this.dir, "device.json", text));
    this.saving = run.catch(() => {});
    return run;
  }

  async readSlot(slot: Slot, size?: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(await readFile(this.slotPath(slot)));
    return size === undefined ? bytes : bytes.subarray(0, size);
  }

  /** Writes bytes into a slot at `offset` and makes them durable. */
  async writeSlot(slot: Slot, offset: number, bytes: Uint8Array): Promise<void> {
    const handle = await open(this.slotPath(slot), offset === 0 ? "w" : "r+");
    try {
      await handle.write(bytes, 0, bytes.length, offset);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async eraseSlot(slot: Slot): Promise<void> {
    await rm(this.slotPath(slot), { force: true });
  }

  async loadModuleState(): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(join(this.dir, "module-state.bin")));
    } catch {
      return undefined;
    }
  }

  saveModuleState(blob: Uint8Array): Promise<void> {
    const run = this.saving.then(() => writeAtomic(this.dir, "module-state.bin", blob));
    this.saving = run.catch(() => {});
    return run;
  }

  async clearModuleState(): Promise<void> {
    await rm(join(this.dir, "module-state.bin"), { force: true });
  }

  /** Resolves once every save so far has finished. */
  flush(): Promise<void> {
    return this.saving;
  }
}

async function writeAtomic(dir: string, name: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dir, `.${name}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, name));
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
