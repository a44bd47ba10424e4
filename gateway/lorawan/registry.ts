// The device registry: ABP sessions (DevEUI, DevAddr, NwkSKey, AppSKey) and the metadata the open-data side
// needs (name, location, sensors, licence), in one plain JSON file that provisioning writes and configuration
// management distributes. Format and policy: ./README.md. No message produced here ever contains a key.
// This module validates and indexes; reading, writing and watching the file: ./registry-file.ts.
import { createHash } from "node:crypto";
import { z } from "zod";

export const REGISTRY_VERSION = 1;
export const DEFAULT_LICENCE = "CC-BY-4.0";
export const SENSOR_KINDS = ["climate", "bike"] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];

const required = (expected: string) => (issue: { code?: string; input?: unknown; keys?: string[] }) => {
  if (issue.code === "unrecognized_keys" && issue.keys !== undefined) {
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  return issue.input === undefined ? "required" : expected;
};

const hex = (chars: number) => {
  const expected = `expected ${chars} hex characters`;
  return z
    .string({ error: required(expected) })
    .regex(new RegExp(`^[0-9A-Fa-f]{${chars}}$`), { error: expected })
    .transform((s) => s.toUpperCase());
};

// Printable text without control characters: names end up in logs, MQTT metadata and CSV files.
const text = (max: number) =>
  z
    .string({ error: required("expected a string") })
    .trim()
    .min(1, { error: "must not be empty" })
    .max(max, { error: `at most ${max} characters` })
    .regex(/^[^\p{Cc}]*$/u, { error: "must not contain control characters" });

const number = (min: number, max: number) =>
  z
    .number({ error: required("expected a number") })
    .min(min, { error: `expected ${min} … ${max}` })
    .max(max, { error: `expected ${min} … ${max}` });

// SPDX licence identifier or simple expression ("CC-BY-4.0", "ODbL-1.0", "CC-BY-4.0 OR ODbL-1.0").
const SPDX_LIKE = /^[A-Za-z0-9][A-Za-z0-9.+-]*(?: (?:AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*$/;
// ISO 8601 date, or date and time with Z or an offset.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

const locationSchema = z.strictObject(
  {
    lat: number(-90, 90),
    lon: number(-180, 180),
    heightM: number(-500, 10_000).optional(),
    description: text(200).optional(),
  },
  { error: required("expected an object {lat, lon, heightM?, description?}") },
);

export const deviceSchema = z.strictObject(
  {
    devEui: hex(16),
    devAddr: hex(8),
    nwkSKey: hex(32),
    appSKey: hex(32),
    name: text(64),
    location: locationSchema,
    sensors: z
      .array(z.enum(SENSOR_KINDS, { error: `expected ${SENSOR_KINDS.join(" or ")}` }), {
        error: required(`expected a list of ${SENSOR_KINDS.join(", ")}`),
      })
      .min(1, { error: "at least one sensor" })
      .refine((s) => new Set(s).size === s.length, { error: "sensors listed twice" }),
    licence: z
      .string({ error: "expected an SPDX licence identifier" })
      .regex(SPDX_LIKE, { error: 'expected an SPDX licence identifier such as "CC-BY-4.0"' })
      .default(DEFAULT_LICENCE),
    directionAB: text(64).optional(),
    installedAt: z
      .string({ error: "expected an ISO 8601 date" })
      .refine((s) => ISO_DATE.test(s) && !Number.isNaN(Date.parse(s)), {
        error: "expected an ISO 8601 date such as 2025-04-01 or 2025-04-01T09:30:00Z",
      })
      .optional(),
  },
  { error: required("expected an object") },
);

const registryFileSchema = z.strictObject(
  {
    version: z.literal(REGISTRY_VERSION, {
      error: (issue) =>
        issue.input === undefined
          ? "required"
          : `expected ${REGISTRY_VERSION} (this program reads registry version ${REGISTRY_VERSION})`,
    }),
    devices: z.array(deviceSchema, { error: required("expected a list of devices") }),
  },
  { error: required("expected an object {version, devices}") },
);

/** One device as stored: hex fields upper-case, licence defaulted. */
export type Device = z.output<typeof deviceSchema>;
/** A device as a writer may give it (licence optional, hex in any case). */
export type DeviceInput = z.input<typeof deviceSchema>;
export type DeviceLocation = Device["location"];
export interface RegistryFile {
  version: typeof REGISTRY_VERSION;
  devices: Device[];
}

/** A loaded, validated, immutable registry with its lookups. */
export interface Registry {
  readonly version: typeof REGISTRY_VERSION;
  readonly devices: readonly Device[];
  /** SHA-256 of the file text it was parsed from ("" when built in memory); the watcher compares it. */
  readonly contentHash: string;
  byDevAddr(devAddr: string): Device | undefined;
  byDevEui(devEui: string): Device | undefined;
  byName(name: string): Device | undefined;
}

export type RegistryErrorCode = "not_found" | "permissions" | "invalid" | "io";

/** Anything wrong with the registry file; `message` is one line, names file and field, never a key. */
export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    /** For 'invalid': every problem found, e.g. "devices[3].nwkSKey: expected 32 hex characters". */
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The fields safe for a log context: identifiers and name, never keys. */
export function redact(device: Device): { devEui: string; devAddr: string; name: string } {
  return { devEui: device.devEui, devAddr: device.devAddr, name: device.name };
}

/** Everything except the session keys: for listings, exports and the published device metadata. */
export function withoutKeys(device: Device): Omit<Device, "nwkSKey" | "appSKey"> {
  const { nwkSKey: _n, appSKey: _a, ...rest } = device;
  return rest;
}

export function emptyRegistryFile(): RegistryFile {
  return { version: REGISTRY_VERSION, devices: [] };
}

/** Validates registry data (already parsed JSON); throws RegistryError('invalid') listing every problem. */
export function validateRegistry(data: unknown, source = "registry"): RegistryFile {
  const parsed = registryFileSchema.safeParse(data);
  if (!parsed.success) {
    throw invalid(
      source,
      parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}${deviceHint(i.path, data)}`),
    );
  }
  const file: RegistryFile = { version: parsed.data.version, devices: parsed.data.devices };
  const problems = duplicates(file.devices);
  if (problems.length > 0) throw invalid(source, problems);
  return file;
}

/** Validates one device on its own; issues are reported by field name ("nwkSKey: expected …"). */
export function validateDevice(
  data: unknown,
): { ok: true; device: Device } | { ok: false; issues: string[] } {
  const parsed = deviceSchema.safeParse(data);
  if (parsed.success) return { ok: true, device: parsed.data };
  return { ok: false, issues: parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`) };
}

/** Parses and validates registry file text. */
export function parseRegistry(text: string, source = "registry"): Registry {
  return parseRegistryWithHash(text, source, sha256(text));
}

/** `contentHash`: SHA-256 of the file's bytes (of the text's UTF-8 encoding, the same for a UTF-8 file). */
export function parseRegistryWithHash(text: string, source: string, contentHash: string): Registry {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw invalid(source, [`not valid JSON (${(err as Error).message})`]);
  }
  return createRegistry(validateRegistry(data, source), contentHash);
}

/**
 * Builds the lookups over a validated file. The gateway holds the registry for its whole life, 10,000
 * devices on a Pi, so the devices are stored compactly: each a frozen copy (nothing aliases the caller's
 * objects) with its fields in place, and values that many devices share (licence, sensor list, location
 * description, …) stored once. The lookup by name, which only the command-line tools use, is built on
 * first use.
 */
export function createRegistry(file: RegistryFile, contentHash = ""): Registry {
  const shared = new Interner();
  const devices = Object.freeze(file.devices.map((d) => compactDevice(d, shared)));
  const byDevAddr = new Map(devices.map((d) => [d.devAddr, d]));
  const byDevEui = new Map(devices.map((d) => [d.devEui, d]));
  let byName: Map<string, Device> | undefined;
  return {
    version: file.version,
    devices,
    contentHash,
    byDevAddr: (devAddr) => byDevAddr.get(devAddr.toUpperCase()),
    byDevEui: (devEui) => byDevEui.get(devEui.toUpperCase()),
    byName: (name) => {
      byName ??= new Map(devices.map((d) => [d.name, d]));
      return byName.get(name.trim());
    },
  };
}

/** One stored copy of equal strings and equal sensor lists within a registry. */
class Interner {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, readonly SensorKind[]>();

  string<T extends string | undefined>(value: T): T {
    if (value === undefined) return value;
    const known = this.strings.get(value);
    if (known !== undefined) return known as T;
    this.strings.set(value, value);
    return value;
  }

  sensors(list: readonly SensorKind[]): SensorKind[] {
    const key = list.join(",");
    let known = this.lists.get(key);
    if (known === undefined) {
      known = Object.freeze(list.map((s) => this.string(s)));
      this.lists.set(key, known);
    }
    return known as SensorKind[];
  }
}

/**
 * A frozen copy of a device in the schema's field order (that of the file `saveRegistry` writes). The
 * required fields are given in one object literal, so V8 stores them inside the object instead of in a
 * separate property array.
 */
function compactDevice(d: Device, shared: Interner): Device {
  const l = d.location;
  const location: DeviceLocation = { lat: l.lat, lon: l.lon };
  if (l.heightM !== undefined) location.heightM = l.heightM;
  if (l.description !== undefined) location.description = shared.string(l.description);
  const device: Device = {
    devEui: d.devEui,
    devAddr: d.devAddr,
    nwkSKey: d.nwkSKey,
    appSKey: d.appSKey,
    name: d.name,
    location: Object.freeze(location),
    sensors: shared.sensors(d.sensors),
    licence: shared.string(d.licence),
  };
  if (d.directionAB !== undefined) device.directionAB = shared.string(d.directionAB);
  if (d.installedAt !== undefined) device.installedAt = shared.string(d.installedAt);
  return Object.freeze(device);
}

function invalid(source: string, issues: string[]): RegistryError {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ${issues.slice(1, 4).join("; ")})` : "";
  return new RegistryError("invalid", `${source}: ${issues[0]}${more}`, issues);
}

function duplicates(devices: readonly Device[]): string[] {
  const problems: string[] = [];
  const seen = (field: "devEui" | "devAddr" | "name", label: string) => {
    const first = new Map<string, number>();
    devices.forEach((d, i) => {
      const previous = first.get(d[field]);
      if (previous === undefined) first.set(d[field], i);
      else
        problems.push(`devices[${i}].${field}: duplicate ${label} ${d[field]} (also devices[${previous}])`);
    });
  };
  seen("devEui", "DevEUI");
  seen("devAddr", "DevAddr");
  seen("name", "name");
  return problems;
}

/** ["devices", 3, "nwkSKey"] → devices[3].nwkSKey */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(file)";
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** ' (device "lamp-12")' for an issue inside a device whose name is readable, else "". */
function deviceHint(path: readonly PropertyKey[], data: unknown): string {
  if (path[0] !== "devices" || typeof path[1] !== "number" || path.length < 3 || path[2] === "name")
    return "";
  const name = (data as { devices?: Array<{ name?: unknown }> } | undefined)?.devices?.[path[1]]?.name;
  return typeof name === "string" && /^[^\p{Cc}]{1,64}$/u.test(name) ? ` (device "${name}")` : "";
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
