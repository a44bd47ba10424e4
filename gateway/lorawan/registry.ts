// The device registry: ABP sessions (DevEUI, DevAddr, NwkSKey, AppSKey) and the metadata the open-data side
// needs (name, location, sensors, licence), in one plain JSON file that provisioning writes and configuration
// management distributes. Format and policy: ./README.md. No message produced here ever contains a key.
import { createHash, randomBytes } from "node:crypto";
import { type BigIntStats, type FSWatcher, watch } from "node:fs";
import { open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
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

/**
 * The registry file's contents, to add to, or an empty file when there is none yet (`created`). Other
 * errors (permissions, invalid content) are thrown as by loadRegistry.
 */
export async function loadRegistryOrEmpty(path: string): Promise<{ file: RegistryFile; created: boolean }> {
  try {
    const registry = await loadRegistry(path);
    return { file: { version: registry.version, devices: [...registry.devices] }, created: false };
  } catch (err) {
    if (err instanceof RegistryError && err.code === "not_found") {
      return { file: emptyRegistryFile(), created: true };
    }
    throw err;
  }
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
  return parseWithHash(text, source, sha256(text));
}

/** `contentHash`: SHA-256 of the file's bytes (of the text's UTF-8 encoding, the same for a UTF-8 file). */
function parseWithHash(text: string, source: string, contentHash: string): Registry {
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

/** The file's text, exactly as `saveRegistry` writes it. */
export function serializeRegistry(file: RegistryFile): string {
  return `${JSON.stringify({ version: file.version, devices: file.devices }, null, 2)}\n`;
}

/**
 * Reads and validates the registry file. Refuses a file readable by group or others: it holds the session
 * keys of every device.
 */
export async function loadRegistry(path: string): Promise<Registry> {
  const { text, hash } = await readRegistryFile(path, true);
  return parseWithHash(text, path, hash);
}

/**
 * Validates and writes the registry atomically: temp file in the same directory (mode 0600), fsync, rename
 * over the target, fsync the directory. A power cut leaves either the old or the new file, never a torn one.
 * Concurrent writers: the last rename wins.
 */
export async function saveRegistry(path: string, file: RegistryFile): Promise<void> {
  const text = serializeRegistry(validateRegistry(file, path));
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.chmod(0o600); // the umask could have narrowed it further, never widened; be exact
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw ioError(path, "write", err);
  }
  await syncDirectory(dir);
}

export interface RegistryWatcher {
  close(): void;
}

export interface WatchRegistryOptions {
  /** The registry already loaded: unchanged content is not reported again. Without it, the first check reports the current file. */
  initial?: Registry;
  /** Quiet time after the last file-system event before reloading (default 200 ms). */
  debounceMs?: number;
  /** Also re-check this often, for file systems where fs.watch misses events (default 30 s, 0 = never). */
  pollIntervalMs?: number;
}

/**
 * Reloads the registry when its file changes, without restarting the gateway. Watches the directory (an
 * atomic replace swaps the inode, so a watch on the file itself would go deaf), debounces, and compares a
 * SHA-256 of the content. Invalid new content (or a missing or too-open file) is reported once per distinct
 * problem through `onError`, and `onChange` is not called: the caller keeps the previous registry.
 */
export function watchRegistry(
  path: string,
  onChange: (registry: Registry) => void,
  onError: (error: Error) => void,
  options: WatchRegistryOptions = {},
): RegistryWatcher {
  const debounceMs = options.debounceMs ?? 200;
  const pollIntervalMs = options.pollIntervalMs ?? 30_000;
  const name = basename(path);
  let lastHash = options.initial?.contentHash;
  /** The file as last read (see fileIdentity): the same identity again is the same content, not re-read. */
  let lastIdentity: string | undefined;
  let lastProblem: string | undefined;
  let closed = false;
  let running = false;
  let again = false;
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;

  const check = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await checkOnce();
      } while (again && !closed);
    } finally {
      running = false;
    }
  };

  // With 10,000 devices the file has 4 MB. It is hashed in small chunks, and read as a whole only when its
  // hash differs; and not even hashed while its identity says it is the file already checked: the poll
  // comes every 30 s, on a Pi, for a file that changes a few times a year.
  const checkOnce = async (): Promise<void> => {
    if (lastIdentity !== undefined && lastIdentity === (await fileIdentity(path))) return;
    let file: RegistryFileRead;
    try {
      file = await readRegistryFile(path, false);
      if (file.hash !== lastHash) file = await readRegistryFile(path, true);
    } catch (err) {
      lastIdentity = undefined;
      report(err, `read:${(err as RegistryError).code ?? "io"}`);
      return;
    }
    const { hash, text, identity } = file;
    lastIdentity = identity;
    if (hash === lastHash) {
      lastProblem = undefined;
      return;
    }
    let registry: Registry;
    try {
      registry = parseWithHash(text, path, hash);
    } catch (err) {
      report(err, `content:${hash}`);
      return;
    }
    lastHash = hash;
    lastProblem = undefined;
    if (closed) return;
    try {
      onChange(registry);
    } catch (err) {
      onError(err as Error);
    }
  };

  const report = (err: unknown, problem: string): void => {
    if (closed || problem === lastProblem) return;
    lastProblem = problem;
    onError(err instanceof Error ? err : new Error(String(err)));
  };

  const schedule = (delayMs: number): void => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void check(), delayMs);
    debounce.unref();
  };

  const startWatcher = (): void => {
    if (closed || watcher !== undefined) return;
    try {
      watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
        // Some platforms give no filename; then any change in the directory triggers a (cheap) check.
        if (filename === null || filename.toString() === name) schedule(debounceMs);
      });
      watcher.on("error", (err) => {
        watcher?.close();
        watcher = undefined;
        report(ioError(path, "watch", err), "watch");
      });
    } catch (err) {
      watcher = undefined;
      report(ioError(path, "watch", err), "watch");
    }
  };

  startWatcher();
  const poll =
    pollIntervalMs > 0
      ? setInterval(() => {
          startWatcher();
          void check();
        }, pollIntervalMs)
      : undefined;
  poll?.unref();
  if (lastHash === undefined) schedule(0);

  return {
    close(): void {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
      watcher = undefined;
    },
  };
}

/** A shell-safe rendering of a path for the hints we print. */
export function shellQuote(path: string): string {
  return /^[\w./@%+=:,-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/** Content changes within this time of a check may leave size and timestamps as they were (coarse clocks). */
const RACY_MS = 2000;

/**
 * Device, inode, size, mode and timestamps of a file: a replace (new inode), a write (size, mtime) or a
 * chmod (mode, ctime) changes it. Undefined when the file cannot be stat'ed.
 */
async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    return identityOf(await stat(path, { bigint: true }));
  } catch {
    return undefined;
  }
}

function identityOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mode}:${s.mtimeNs}:${s.ctimeNs}`;
}

interface RegistryFileRead {
  /** SHA-256 of the bytes read. */
  hash: string;
  /** The text, when asked for ("" otherwise). */
  text: string;
  /** The file's identity, unless it changed so recently that a further change could go unseen in it. */
  identity: string | undefined;
}

const CHUNK_BYTES = 64 * 1024;

/** Reads the registry file after the permission check, hashing it in chunks; keeps the text only if asked. */
async function readRegistryFile(path: string, withText: boolean): Promise<RegistryFileRead> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new RegistryError("not_found", `registry file ${path} not found`);
    }
    throw ioError(path, "open", err);
  }
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) throw new RegistryError("io", `registry ${path} is not a regular file`);
    // Checked on the open descriptor, so the file read is the file checked.
    if (process.platform !== "win32" && (stat.mode & 0o044n) !== 0n) {
      const mode = (stat.mode & 0o777n).toString(8).padStart(4, "0");
      throw new RegistryError(
        "permissions",
        `registry file ${path} is readable by group or others (mode ${mode}) and holds session keys; ` +
          `fix with: chmod 600 ${shellQuote(path)}`,
      );
    }
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    const chunks: Buffer[] = [];
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      if (withText) chunks.push(Buffer.from(chunk.subarray(0, bytesRead)));
    }
    const changedMs = Math.max(Number(stat.mtimeNs), Number(stat.ctimeNs)) / 1e6;
    return {
      hash: hash.digest("hex"),
      text: withText ? Buffer.concat(chunks).toString("utf8") : "",
      identity: changedMs < Date.now() - RACY_MS ? identityOf(stat) : undefined,
    };
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw ioError(path, "read", err);
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (err) {
    // Some file systems (and Windows) cannot fsync a directory; the rename itself has happened.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM" && code !== "ENOTSUP") {
      throw ioError(dir, "sync", err);
    }
  } finally {
    await handle?.close();
  }
}

function ioError(path: string, action: string, err: unknown): RegistryError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === "EACCES" || e.code === "EPERM" ? "permission denied" : (e.code ?? e.message);
  return new RegistryError("io", `cannot ${action} registry ${path}: ${why}`);
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
