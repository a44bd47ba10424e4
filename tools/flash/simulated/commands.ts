// The device side of the provisioning protocol (hw/provisioning-protocol.md §2 and §4), as the native host
// implements it: one command line in, the answer lines out. The node's state is in the DeviceStore; what
// needs the running module (configuration, clock, commit, self-test) goes through DeviceCore.
import { createHash } from "node:crypto";
import { decodeConfig } from "../../../shared/payload/index.ts";
import { crc32 } from "../crc32.ts";
import { keyCheckValue } from "../kcv.ts";
import {
  type CommandLine,
  ErrorCode,
  type FwInfo,
  type FwStatus,
  formatConfigInfo,
  formatFwInfo,
  formatFwStatus,
  formatIdentity,
  formatKeyCheck,
  formatLocation,
  formatNodeStatus,
  formatSelfTest,
  formatTimeInfo,
  fromHex,
  isHex,
  MAX_CHUNK_BYTES,
  MAX_CONFIG_BYTES,
  type NodeStatus,
  PROTOCOL_VERSION,
  ProtocolError,
  parseCommand,
  parseLocation,
  reply,
  type SelfTest,
  SLOT_SIZE,
  toHex,
} from "../protocol.ts";
import { type DeviceRecord, type DeviceStore, fwInfo, otherSlot } from "./store.ts";

/** Faults a test (or a rehearsal) switches on; counters count down as they fire. */
export interface DeviceFaults {
  /** Flip a byte of the next N chunks as they arrive, before the CRC check (→ ERROR:4 each). */
  corruptChunks: number;
  /** Flip a byte of the next N chunks after the CRC check, as a bad flash cell would (→ final ERROR:7). */
  corruptStored: number;
  /** Every flash write fails (→ ERROR:12). */
  flashWriteError: boolean;
  /** The radio check fails with this code. */
  radioError: number | undefined;
  /** Answer nothing at all (a hung host). */
  silent: boolean;
}

export const NO_FAULTS: Readonly<DeviceFaults> = {
  corruptChunks: 0,
  corruptStored: 0,
  flashWriteError: false,
  radioError: undefined,
  silent: false,
};

export interface BoardInfo {
  board: string;
  hwRev: string | undefined;
  hostVersion: string;
  abi: number;
}

export interface DeviceCore {
  readonly store: DeviceStore;
  readonly board: BoardInfo;
  readonly faults: DeviceFaults;
  /** Identity or keys changed: start a new session if the session values differ. */
  identityChanged(): Promise<void>;
  /** Hands a configuration to the running module; returns its result code. */
  configure(bytes: Uint8Array): number;
  /** Steps the node's clock to `unixS`. */
  setClock(unixS: number): Promise<void>;
  /** Checks the verified upload and switches to it; throws CommandError if it cannot run. */
  commit(): Promise<FwInfo>;
  selfTest(): SelfTest;
  status(): NodeStatus;
  nodeTimeS(): number;
  /** Restarts the module after the answer went out. */
  reboot(): void;
  /** Called after every stored chunk (tests unplug the cable half-way through). */
  onChunk?(received: number, size: number): void;
}

export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly code: number,
    message: string,
    readonly info: string[] = [],
  ) {
    super(message);
  }
}

const ok = (...info: string[]) => [...info, reply.ok()];

export async function handleCommand(core: DeviceCore, line: string): Promise<string[]> {
  const command = parseCommand(line);
  if (command === undefined) return [reply.error(ErrorCode.unknownCommand, "not an AT command")];
  try {
    return await dispatch(core, command);
  } catch (err) {
    if (err instanceof CommandError) return [...err.info, reply.error(err.code, err.message)];
    if (err instanceof ProtocolError) return [reply.error(ErrorCode.badArgument, err.message)];
    throw err;
  }
}

function bad(message: string): CommandError {
  return new CommandError(ErrorCode.badArgument, message);
}

function expectKind(c: CommandLine, kind: CommandLine["kind"], args?: number): void {
  if (c.kind !== kind) {
    const form = kind === "query" ? `AT+${c.name}?` : kind === "set" ? `AT+${c.name}=…` : `AT+${c.name}`;
    throw bad(`use ${form}`);
  }
  if (args !== undefined && c.args.length !== args)
    throw bad(`expected ${args} argument${args === 1 ? "" : "s"}`);
}

function hexArg(value: string, bytes: number, what: string): string {
  if (!isHex(value, bytes)) throw bad(`${what}: expected ${bytes * 2} hex digits`);
  return value.toUpperCase();
}

function uintArg(
  value: string,
  what: string,
  min: number,
  max: number,
  code: number = ErrorCode.badArgument,
) {
  if (!/^\d{1,10}$/.test(value)) throw bad(`${what}: expected a number`);
  const n = Number(value);
  if (n < min || n > max) throw new CommandError(code, `${what} ${n} outside ${min}..${max}`);
  return n;
}

async function dispatch(core: DeviceCore, c: CommandLine): Promise<string[]> {
  const store = core.store;
  const r = store.record;
  switch (c.name) {
    case "":
      return ok();
    case "ID": {
      expectKind(c, "query");
      const active = r.slots[r.active]!;
      return ok(
        reply.info(
          "ID",
          formatIdentity({
            board: core.board.board,
            hwRev: core.board.hwRev,
            host: core.board.hostVersion,
            fw: active.fw,
            abi: core.board.abi,
            proto: PROTOCOL_VERSION,
            eui: r.eui,
            devEui: r.identity.devEui,
            devAddr: r.identity.devAddr,
          }),
        ),
      );
    }
    case "DEVEUI":
    case "DEVADDR":
      return identity(core, c);
    case "NWKSKEY":
    case "APPSKEY": {
      if (c.kind === "query") throw bad("keys are write-only; AT+KCV? gives their check values");
      expectKind(c, "set", 1);
      const key = hexArg(c.args[0]!, 16, c.name);
      await update(core, (rec) => {
        if (c.name === "NWKSKEY") rec.identity.nwkSKey = key;
        else rec.identity.appSKey = key;
      });
      await core.identityChanged();
      return ok();
    }
    case "KCV": {
      expectKind(c, "query");
      const kcv = (k: string | undefined) => (k === undefined ? undefined : keyCheckValue(k));
      return ok(
        reply.info(
          "KCV",
          formatKeyCheck({ nwkSKey: kcv(r.identity.nwkSKey), appSKey: kcv(r.identity.appSKey) }),
        ),
      );
    }
    case "TIME": {
      if (c.kind === "query") {
        return ok(
          reply.info(
            "TIME",
            formatTimeInfo({ unixS: core.nodeTimeS(), source: r.clock.set ? "set" : "uptime" }),
          ),
        );
      }
      expectKind(c, "set", 1);
      await core.setClock(uintArg(c.args[0]!, "time", 1_000_000_000, 0xffffffff));
      return ok();
    }
    case "CONFIG":
      return config(core, c);
    case "LOC": {
      if (c.kind === "query") return ok(reply.info("LOC", formatLocation(r.location ?? undefined)));
      expectKind(c, "set");
      const loc = parseLocation(c.args);
      if (loc === undefined) throw bad("expected lat,lon[,height]");
      await update(core, (rec) => {
        rec.location = loc;
      });
      return ok();
    }
    case "FW": {
      expectKind(c, "query");
      return ok(reply.info("FW", formatFwInfo(fwInfo(r.active, r.slots[r.active]!))));
    }
    case "FWSTATUS":
      expectKind(c, "query");
      return ok(reply.info("FWSTATUS", formatFwStatus(uploadStatus(core))));
    case "FWBEGIN":
      return fwBegin(core, c);
    case "FWCHUNK":
      return fwChunk(core, c);
    case "FWCOMMIT": {
      expectKind(c, "action");
      if (r.upload === null) throw new CommandError(ErrorCode.noUpload, "no upload in progress");
      if (!r.upload.verified) {
        throw new CommandError(
          ErrorCode.uploadIncomplete,
          `upload incomplete: ${r.upload.received} of ${r.upload.size} bytes received`,
        );
      }
      return ok(reply.info("FW", formatFwInfo(await core.commit())));
    }
    case "FWABORT":
      expectKind(c, "action");
      if (r.upload !== null) {
        await update(core, (rec) => {
          rec.upload = null;
        });
        await store.eraseSlot(otherSlot(r.active));
      }
      return ok();
    case "TEST":
      expectKind(c, "action");
      return ok(reply.info("TEST", formatSelfTest(core.selfTest())));
    case "STATUS":
      expectKind(c, "query");
      return ok(reply.info("STATUS", formatNodeStatus(core.status())));
    case "REBOOT":
      expectKind(c, "action");
      core.reboot();
      return ok();
    default:
      throw new CommandError(ErrorCode.unknownCommand, `unknown command AT+${c.name}`);
  }
}

async function identity(core: DeviceCore, c: CommandLine): Promise<string[]> {
  const r = core.store.record;
  const bytes = c.name === "DEVEUI" ? 8 : 4;
  const field = c.name === "DEVEUI" ? "devEui" : "devAddr";
  if (c.kind === "query") return ok(reply.info(c.name, r.identity[field] ?? "-"));
  expectKind(c, "set", 1);
  const value = hexArg(c.args[0]!, bytes, c.name);
  await update(core, (rec) => {
    rec.identity[field] = value;
  });
  await core.identityChanged();
  return ok();
}

async function config(core: DeviceCore, c: CommandLine): Promise<string[]> {
  const r = core.store.record;
  if (c.kind === "query") {
    const cfg = r.config;
    return ok(
      reply.info(
        "CONFIG",
        formatConfigInfo({ result: cfg?.result ?? 0, cfgId: cfg?.cfgId ?? 0, hex: cfg?.hex ?? "" }),
      ),
    );
  }
  expectKind(c, "set", 1);
  const hex = c.args[0]!;
  if (!isHex(hex)) throw bad("CONFIG: expected the CBOR map in hex");
  const bytes = fromHex(hex);
  if (bytes.length > MAX_CONFIG_BYTES)
    throw bad(`CONFIG: ${bytes.length} bytes, at most ${MAX_CONFIG_BYTES}`);
  const result = core.configure(bytes);
  const cfgId = result === 0 ? (decodeConfig(bytes).values.cfgId ?? 0) : 0;
  const info = reply.info("CONFIG", formatConfigInfo({ result, cfgId }));
  if (result !== 0) {
    throw new CommandError(ErrorCode.configRejected, `config rejected: result ${result}`, [info]);
  }
  await update(core, (rec) => {
    rec.config = { hex: toHex(bytes), result, cfgId };
  });
  return ok(info);
}

function uploadStatus(core: DeviceCore): FwStatus {
  const u = core.store.record.upload;
  if (u === null) return { state: "idle" };
  return {
    state: u.verified ? "verified" : "receiving",
    size: u.size,
    received: u.received,
    sha256: u.sha256,
  };
}

async function fwBegin(core: DeviceCore, c: CommandLine): Promise<string[]> {
  expectKind(c, "set", 2);
  const r = core.store.record;
  const size = uintArg(c.args[0]!, "size", 1, SLOT_SIZE, ErrorCode.sizeMismatch);
  const sha256 = hexArg(c.args[1]!, 32, "sha256");
  const u = r.upload;
  if (u === null || u.size !== size || u.sha256 !== sha256) {
    // A different image: whatever was received of another one is discarded.
    await core.store.eraseSlot(otherSlot(r.active));
    await update(core, (rec) => {
      rec.upload = { size, sha256, received: 0, verified: false };
    });
  }
  return ok(reply.info("FWSTATUS", formatFwStatus(uploadStatus(core))));
}

async function fwChunk(core: DeviceCore, c: CommandLine): Promise<string[]> {
  expectKind(c, "set", 3);
  const r = core.store.record;
  const u = r.upload;
  if (u === null) throw new CommandError(ErrorCode.noUpload, "no upload in progress (AT+FWBEGIN first)");
  const offset = uintArg(c.args[0]!, "offset", 0, SLOT_SIZE);
  const hex = c.args[1]!;
  if (!isHex(hex)) throw bad("chunk: expected hex");
  if (hex.length / 2 > MAX_CHUNK_BYTES) {
    throw new CommandError(
      ErrorCode.sizeMismatch,
      `chunk of ${hex.length / 2} bytes, at most ${MAX_CHUNK_BYTES}`,
    );
  }
  const crcText = c.args[2]!;
  if (!isHex(crcText, 4)) throw bad("crc32: expected 8 hex digits");
  if (offset !== u.received) {
    throw new CommandError(ErrorCode.outOfOrder, `expected offset ${u.received}`);
  }
  const data = fromHex(hex);
  if (offset + data.length > u.size) {
    throw new CommandError(
      ErrorCode.sizeMismatch,
      `chunk ends at ${offset + data.length}, beyond size ${u.size}`,
    );
  }
  const faults = core.faults;
  if (faults.corruptChunks > 0) {
    faults.corruptChunks--;
    data[data.length >> 1]! ^= 0x10;
  }
  if (crc32(data) !== Number.parseInt(crcText, 16)) {
    throw new CommandError(ErrorCode.badCrc, `bad CRC for the chunk at ${offset}`);
  }
  if (faults.corruptStored > 0) {
    faults.corruptStored--;
    data[0]! ^= 0x01;
  }
  const slot = otherSlot(r.active);
  try {
    if (faults.flashWriteError) throw new Error("simulated flash fault");
    await core.store.writeSlot(slot, offset, data);
  } catch (err) {
    throw new CommandError(ErrorCode.flashWrite, `flash write error at ${offset}: ${(err as Error).message}`);
  }
  const received = offset + data.length;
  let verified = false;
  if (received === u.size) {
    const digest = toHex(
      createHash("sha256")
        .update(await core.store.readSlot(slot, u.size))
        .digest(),
    );
    if (digest !== u.sha256) {
      await update(core, (rec) => {
        rec.upload = null;
      });
      await core.store.eraseSlot(slot);
      throw new CommandError(
        ErrorCode.hashMismatch,
        `hash mismatch: the image has SHA-256 ${digest.slice(0, 16)}…; upload discarded`,
      );
    }
    verified = true;
  }
  await update(core, (rec) => {
    rec.upload = { ...u, received, verified };
  });
  core.onChunk?.(received, u.size);
  return ok();
}

/** Changes the record and saves it; if the save fails, the change is undone (NVS keeps the old value). */
async function update(core: DeviceCore, change: (record: DeviceRecord) => void): Promise<void> {
  const record = core.store.record;
  const before = structuredClone(record);
  change(record);
  // Only what this change touched is undone: the MAC may advance the frame counter meanwhile.
  const touched = (Object.keys(record) as (keyof DeviceRecord)[]).filter(
    (k) => JSON.stringify(record[k]) !== JSON.stringify(before[k]),
  );
  try {
    if (core.faults.flashWriteError) throw new Error("simulated flash fault");
    await core.store.save();
  } catch (err) {
    for (const k of touched) Object.assign(record, { [k]: before[k] });
    throw new CommandError(ErrorCode.flashWrite, `flash write error: ${(err as Error).message}`);
  }
}
