// A simulated node without a pty: the device side of the protocol (tools/flash/simulated/commands.ts) on a
// DeviceStore in a temp dir, a stub module (configuration checked by the reference decoder, commit = switch
// slots), and an in-memory LineTransport for the tool's FlashClient.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyConfig, DEFAULT_CONFIG } from "../../../shared/payload/index.ts";
import { FlashClient, FlashError, type LineTransport, sha256Hex } from "../../../tools/flash/index.ts";
import {
  type DeviceCore,
  DeviceStore,
  handleCommand,
  NO_FAULTS,
  otherSlot,
} from "../../../tools/flash/simulated/index.ts";

const dirs: string[] = [];

export function disposeMemoryDevices(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export class MemoryTransport implements LineTransport {
  readonly path = "memory";
  readonly sent: string[] = [];
  private lines = new Set<(line: string) => void>();
  private closes = new Set<(err: Error | undefined) => void>();
  private open = true;
  muted = false;
  /** Unplug right after the device handled the line matching this. */
  unplugAfter: ((line: string) => boolean) | undefined;

  constructor(private readonly core: DeviceCore) {}

  async send(line: string): Promise<void> {
    if (!this.open) throw new FlashError("disconnected", "closed");
    this.sent.push(line);
    if (line === "" || this.muted) return;
    const answer = await handleCommand(this.core, line);
    if (this.unplugAfter?.(line)) {
      this.open = false;
      setImmediate(() => {
        for (const c of this.closes) c(new Error("unplugged"));
      });
      return;
    }
    setImmediate(() => {
      for (const a of answer) for (const l of this.lines) l(a);
    });
  }
  onLine(listener: (line: string) => void) {
    this.lines.add(listener);
    return () => this.lines.delete(listener);
  }
  onClose(listener: (err: Error | undefined) => void) {
    this.closes.add(listener);
    return () => this.closes.delete(listener);
  }
  present() {
    return this.open;
  }
  get isOpen() {
    return this.open;
  }
  async close() {
    this.open = false;
  }
}

export async function memoryDevice() {
  const dir = mkdtempSync(join(tmpdir(), "flash-upload-"));
  dirs.push(dir);
  const factory = randomBytes(100);
  const store = await DeviceStore.open(dir, {
    factory: { bytes: factory, info: { size: 100, sha256: sha256Hex(factory), fw: "0.1.0", abi: 1 } },
  });
  const core: DeviceCore = {
    store,
    board: { board: "sim", hwRev: undefined, hostVersion: "0.1.0", abi: 1 },
    faults: { ...NO_FAULTS },
    identityChanged: async () => {},
    configure: (bytes) => applyConfig({ ...DEFAULT_CONFIG }, bytes).result,
    setClock: async () => {},
    // The real device also validates and starts the module (test/integration/flash/).
    commit: async () => {
      const r = store.record;
      const slot = otherSlot(r.active);
      r.slots[slot] = {
        size: r.upload!.size,
        sha256: r.upload!.sha256,
        fw: "0.2.0",
        abi: 1,
        origin: "upload",
      };
      r.active = slot;
      r.upload = null;
      await store.save();
      return { slot, ...r.slots[slot]! };
    },
    selfTest: () => {
      throw new Error("unused");
    },
    status: () => ({ uptimeS: 0, fcnt: 0, uplinks: 0, flags: 0, session: "none" }),
    nodeTimeS: () => 0,
    reboot: () => {},
  };
  const transport = new MemoryTransport(core);
  const client = new FlashClient(transport, { timeoutMs: 300 });
  const bytes = new Uint8Array(randomBytes(1000));
  return { store, core, transport, client, image: { bytes, sha256: sha256Hex(bytes) } };
}
