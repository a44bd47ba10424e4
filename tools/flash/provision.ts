// One provisioning session (hw/provisioning-protocol.md §3): look at the node, check it can run the module,
// write identity, keys, configuration, location and time, upload and commit the module (unless it already runs
// it), read everything back and compare, run the self-test. The CLI (cli/flash.ts) adds ports, flags, the
// registry and the messages; a test can drive the same steps over any LineTransport.
import type { FlashClient } from "./client.ts";
import { FlashError } from "./errors.ts";
import { keyCheckValue } from "./kcv.ts";
import type { FirmwareImage } from "./module-info.ts";
import {
  type ConfigInfo,
  type FwInfo,
  type FwStatus,
  type Identity,
  type KeyCheck,
  type Location,
  type NodeStatus,
  PROTOCOL_VERSION,
  type SelfTest,
  toHex,
} from "./protocol.ts";
import { uploadModule } from "./upload.ts";

/** Boards the native host is built for (hw/node-board.md), and the simulated device. */
export const SUPPORTED_BOARDS: readonly string[] = [
  "heltec-wifi-lora32-v3",
  "xiao-esp32s3-wio-sx1262",
  "sim",
];

/** What the node says about itself before anything is written. */
export interface DeviceSnapshot {
  identity: Identity;
  active: FwInfo;
  upload: FwStatus;
  keys: KeyCheck;
  config: ConfigInfo;
  location: Location | undefined;
}

export interface ProvisionPlan {
  devEui: string;
  devAddr: string;
  nwkSKey: string;
  appSKey: string;
  /** FPort 10 CBOR (node-config.ts). */
  config: Uint8Array;
  location: Location;
  /** Set the node's clock (Unix s); undefined leaves it. */
  timeS: number | undefined;
  firmware: FirmwareImage;
  /** Upload even when the node already runs this module. */
  forceUpload?: boolean;
  /** Continue an interrupted upload of the same module (default true). */
  resume?: boolean;
}

export type UploadDecision =
  | { kind: "skip"; reason: string }
  | { kind: "resume"; from: number }
  | { kind: "upload" };

export interface ProvisionEvents {
  /** A step starts, e.g. "writing identity and keys". */
  onStep?: (step: string) => void;
  onProgress?: (received: number, total: number) => void;
  onNote?: (note: string) => void;
  signal?: AbortSignal;
}

export interface ProvisionReport {
  before: DeviceSnapshot;
  upload: { kind: "skipped" | "uploaded"; resumedFrom: number; chunkResends: number; uploads: number };
  /** Everything read back after the writes. */
  identity: Identity;
  active: FwInfo;
  keys: KeyCheck;
  config: ConfigInfo;
  location: Location | undefined;
  selfTest: SelfTest;
  status: NodeStatus;
}

/** `AT`, then every read-only query. Writes nothing. */
export async function inspectDevice(client: FlashClient): Promise<DeviceSnapshot> {
  await client.sync();
  const identity = await client.identify();
  return {
    identity,
    active: await client.fw(),
    upload: await client.fwStatus(),
    keys: await client.keyCheck(),
    config: await client.config(),
    location: await client.location(),
  };
}

/** Throws FlashError("wrong-board") unless this node's host can run `firmware`. */
export function checkCompatible(identity: Identity, firmware: FirmwareImage): void {
  if (!SUPPORTED_BOARDS.includes(identity.board)) {
    throw new FlashError(
      "wrong-board",
      `wrong board: the device is a "${identity.board}", not a board OpenHerz supports (${SUPPORTED_BOARDS.join(", ")})`,
      "check that the right device is plugged in; other boards need their own native host (hw/node-board.md)",
    );
  }
  if (identity.proto !== PROTOCOL_VERSION) {
    throw new FlashError(
      "wrong-board",
      `the node speaks provisioning protocol ${identity.proto}, this tool ${PROTOCOL_VERSION}`,
      "update sensornet or the node's native host so that they match",
    );
  }
  if (identity.abi !== firmware.abi) {
    throw new FlashError(
      "wrong-board",
      `ABI mismatch: the node's host implements host ABI ${identity.abi}, ${firmware.path} needs ABI ${firmware.abi}`,
      "update the node's native host, or flash a module built for its ABI (--firmware)",
    );
  }
}

export function decideUpload(snapshot: DeviceSnapshot, plan: ProvisionPlan): UploadDecision {
  const sha = plan.firmware.sha256.toUpperCase();
  if (!plan.forceUpload && snapshot.active.sha256 === sha) {
    return { kind: "skip", reason: "the node already runs this module" };
  }
  const u = snapshot.upload;
  if (
    plan.resume !== false &&
    u.state !== "idle" &&
    u.sha256 === sha &&
    u.size === plan.firmware.bytes.length
  ) {
    return { kind: "resume", from: u.received };
  }
  return { kind: "upload" };
}

/** The steps a session would take, for --dry-run and the confirmation question. */
export function describePlan(snapshot: DeviceSnapshot, plan: ProvisionPlan): string[] {
  const id = snapshot.identity;
  const fw = plan.firmware;
  const upload = decideUpload(snapshot, plan);
  const uploadLine =
    upload.kind === "skip"
      ? `keep the active module (${upload.reason}: SHA-256 ${fw.sha256.slice(0, 16)}…)`
      : upload.kind === "resume"
        ? `resume the upload of ${fw.path} at byte ${upload.from} of ${fw.bytes.length}, then commit`
        : `upload ${fw.path} (${fw.bytes.length} bytes, fw ${fw.fwVersion}, SHA-256 ${fw.sha256.slice(0, 16)}…) ` +
          `into slot ${snapshot.active.slot === "a" ? "b" : "a"}, then commit (replaces fw ${id.fw}, ${snapshot.active.origin})`;
  return [
    `set DevEUI ${plan.devEui}${id.devEui !== undefined && id.devEui !== plan.devEui ? ` (was ${id.devEui})` : ""}`,
    `set DevAddr ${plan.devAddr}${id.devAddr !== undefined && id.devAddr !== plan.devAddr ? ` (was ${id.devAddr})` : ""}`,
    `set NwkSKey (KCV ${keyCheckValue(plan.nwkSKey)}) and AppSKey (KCV ${keyCheckValue(plan.appSKey)})`,
    `set the configuration (${plan.config.length} bytes CBOR: ${toHex(plan.config)})`,
    `set the location ${plan.location.lat}, ${plan.location.lon}`,
    ...(plan.timeS === undefined ? [] : ["set the node's clock to this computer's time"]),
    uploadLine,
    "read everything back and compare, run the self-test",
  ];
}

export async function provision(
  client: FlashClient,
  before: DeviceSnapshot,
  plan: ProvisionPlan,
  events: ProvisionEvents = {},
): Promise<ProvisionReport> {
  const interrupted = () => {
    if (events.signal?.aborted) throw new FlashError("interrupted", "interrupted");
  };
  events.onStep?.("writing identity and keys");
  await client.setDevEui(plan.devEui);
  await client.setDevAddr(plan.devAddr);
  await client.setNwkSKey(plan.nwkSKey);
  await client.setAppSKey(plan.appSKey);
  interrupted();

  events.onStep?.("writing configuration, location and time");
  await client.setConfig(plan.config);
  await client.setLocation(plan.location);
  if (plan.timeS !== undefined) await client.setTime(plan.timeS);
  interrupted();

  const decision = decideUpload(before, plan);
  let upload: ProvisionReport["upload"] = { kind: "skipped", resumedFrom: 0, chunkResends: 0, uploads: 0 };
  if (decision.kind !== "skip") {
    events.onStep?.(
      decision.kind === "resume"
        ? `resuming the module upload at byte ${decision.from}`
        : "uploading the module",
    );
    const result = await uploadModule(client, plan.firmware, {
      resume: plan.resume !== false,
      ...(events.onProgress && { onProgress: events.onProgress }),
      ...(events.onNote && { onNote: events.onNote }),
      ...(events.signal && { signal: events.signal }),
    });
    upload = { kind: "uploaded", ...result };
  }

  events.onStep?.("reading back");
  const identity = await client.identify();
  const keys = await client.keyCheck();
  const config = await client.config();
  const active = await client.fw();
  const location = await client.location();
  const pending = await client.fwStatus();
  verify(plan, { identity, keys, config, active, location, pending });

  events.onStep?.("self-test");
  const selfTest = await client.selfTest();
  const status = await client.status();
  return { before, upload, identity, active, keys, config, location, selfTest, status };
}

function verify(
  plan: ProvisionPlan,
  got: {
    identity: Identity;
    keys: KeyCheck;
    config: ConfigInfo;
    active: FwInfo;
    location: Location | undefined;
    pending: FwStatus;
  },
): void {
  const problems: string[] = [];
  const expect = (what: string, actual: string | undefined, wanted: string) => {
    if (actual?.toUpperCase() !== wanted.toUpperCase())
      problems.push(`${what} is ${actual ?? "not set"}, wrote ${wanted}`);
  };
  expect("DevEUI", got.identity.devEui, plan.devEui);
  expect("DevAddr", got.identity.devAddr, plan.devAddr);
  expect("NwkSKey check value", got.keys.nwkSKey, keyCheckValue(plan.nwkSKey));
  expect("AppSKey check value", got.keys.appSKey, keyCheckValue(plan.appSKey));
  expect("configuration", got.config.hex, toHex(plan.config));
  if (got.config.result !== 0) problems.push(`configuration result is ${got.config.result}, not 0 (applied)`);
  expect("module SHA-256", got.active.sha256, plan.firmware.sha256);
  const loc = got.location;
  if (
    loc === undefined ||
    Math.abs(loc.lat - plan.location.lat) > 1e-6 ||
    Math.abs(loc.lon - plan.location.lon) > 1e-6
  ) {
    problems.push(`location is ${loc === undefined ? "not set" : `${loc.lat}, ${loc.lon}`}`);
  }
  if (got.pending.state !== "idle") problems.push(`an upload is still ${got.pending.state}`);
  if (problems.length > 0) {
    throw new FlashError(
      "verify",
      `read-back differs: ${problems.join("; ")}`,
      "run the same command again; if it persists, the node's flash or host is faulty",
    );
  }
}
