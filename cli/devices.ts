// `sensornet devices add|list|remove|export`: a thin layer over gateway/lorawan/registry.ts. The registry file
// holds every node's session keys, so nothing here prints a key, except keys it has just generated, once.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import {
  type Device,
  type DeviceInput,
  type Registry,
  RegistryError,
  type RegistryFile,
  SENSOR_KINDS,
  validateDevice,
  withoutKeys,
} from "../gateway/lorawan/registry.ts";
import { loadRegistry, loadRegistryOrEmpty, saveRegistry } from "../gateway/lorawan/registry-file.ts";
import { UsageError } from "./usage-error.ts";

export const DEFAULT_REGISTRY_PATH = "./devices.json";

/** --registry, else $SENSORNET_REGISTRY, else ./devices.json. */
export function registryPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return option ?? (env.SENSORNET_REGISTRY || DEFAULT_REGISTRY_PATH);
}

const REGISTRY_HELP = `registry file (default: $SENSORNET_REGISTRY, else ${DEFAULT_REGISTRY_PATH})`;

/** Columns of `export --format csv`: the town's asset list. No keys, ever. */
export const CSV_COLUMNS = [
  "devEui",
  "devAddr",
  "name",
  "lat",
  "lon",
  "sensors",
  "licence",
  "installedAt",
  "heightM",
  "description",
  "directionAB",
] as const;

const FLAG_OF_FIELD: Record<string, string> = {
  devEui: "--dev-eui",
  devAddr: "--dev-addr",
  nwkSKey: "--nwk-skey",
  appSKey: "--app-skey",
  name: "--name",
  "location.lat": "--lat",
  "location.lon": "--lon",
  "location.heightM": "--height-m",
  "location.description": "--description",
  sensors: "--sensors",
  licence: "--licence",
  directionAB: "--direction-ab",
  installedAt: "--installed-at",
};

interface AddOptions {
  registry?: string;
  devEui: string;
  devAddr: string;
  nwkSkey?: string;
  appSkey?: string;
  generateKeys?: boolean;
  name: string;
  lat: string;
  lon: string;
  heightM?: string;
  description?: string;
  sensors: string;
  licence?: string;
  directionAb?: string;
  installedAt?: string;
}

export function registerDevices(program: Command): void {
  const devices = program
    .command("devices")
    .description("manage the device registry: ABP sessions and metadata of the nodes the gateway accepts")
    .addHelpText(
      "after",
      `
The registry is one JSON file (mode 0600: it holds every node's session keys) that the gateway config
points at; the gateway picks up changes without a restart. Format: gateway/lorawan/README.md.
Registry file: --registry <file>, else $SENSORNET_REGISTRY, else ${DEFAULT_REGISTRY_PATH}.

Examples:
  sensornet devices add --dev-eui 70B3D57ED0061234 --dev-addr 26011BDA --generate-keys \\
      --name bahnhofstrasse-12 --lat 52.3745 --lon 9.7386 --sensors climate,bike --direction-ab northbound
  sensornet devices list
  sensornet devices remove bahnhofstrasse-12
  sensornet devices export --format csv --output assets.csv`,
    );

  devices
    .command("add")
    .description("add an ABP device (creates the registry file if it does not exist)")
    .requiredOption("--dev-eui <hex>", "DevEUI, 16 hex digits")
    .requiredOption("--dev-addr <hex>", "DevAddr, 8 hex digits, most significant byte first")
    .option("--nwk-skey <hex|@file>", "NwkSKey, 32 hex digits, or @file to read it from a file")
    .option("--app-skey <hex|@file>", "AppSKey, 32 hex digits, or @file to read it from a file")
    .option("--generate-keys", "create random NwkSKey and AppSKey and print them once")
    .requiredOption("--name <name>", "unique name, e.g. the site")
    .requiredOption("--lat <degrees>", "latitude, WGS 84 decimal degrees")
    .requiredOption("--lon <degrees>", "longitude, WGS 84 decimal degrees")
    .option("--height-m <metres>", "height of the sensor above ground")
    .option("--description <text>", "where exactly, e.g. 'lamp post, east side'")
    .requiredOption("--sensors <list>", `sensors fitted, comma-separated: ${SENSOR_KINDS.join(",")}`)
    .option("--licence <spdx>", "licence of the published data", "CC-BY-4.0")
    .option("--direction-ab <text>", "what bike direction A→B means at this site, e.g. northbound")
    .option("--installed-at <date>", "ISO 8601 date or date-time of installation")
    .option("--registry <file>", REGISTRY_HELP)
    .addHelpText(
      "after",
      `
Keys given on the command line are visible to other local users (ps) and kept in shell history:
prefer --generate-keys, or --nwk-skey @file. Hex may contain spaces, ':' or '-'.

Example:
  sensornet devices add --dev-eui 70B3D57ED0061234 --dev-addr 26011BDA --generate-keys \\
      --name bahnhofstrasse-12 --lat 52.3745 --lon 9.7386 --height-m 4.5 --sensors climate,bike \\
      --direction-ab northbound --installed-at 2025-04-01`,
    )
    .action(async (options: AddOptions) => {
      await addDevice(options);
    });

  devices
    .command("list")
    .description("list registered devices (never shows keys)")
    .option("--json", "JSON array instead of a table")
    .option("--registry <file>", REGISTRY_HELP)
    .action(async (options: { registry?: string; json?: boolean }) => {
      const registry = await load(registryPath(options.registry));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(registry.devices.map(withoutKeys), null, 2)}\n`);
      } else {
        process.stdout.write(formatTable(registry.devices));
      }
    });

  devices
    .command("remove")
    .description("remove a device by DevEUI or name")
    .argument("<devEui|name>", "DevEUI (16 hex digits) or name of the device")
    .option("--registry <file>", REGISTRY_HELP)
    .addHelpText("after", "\nExample:\n  sensornet devices remove 70B3D57ED0061234")
    .action(async (id: string, options: { registry?: string }) => {
      const path = registryPath(options.registry);
      const registry = await load(path);
      const device = registry.byDevEui(normaliseHex(id)) ?? registry.byName(id);
      if (device === undefined) throw new UsageError(`no device with DevEUI or name "${id}" in ${path}`);
      await save(path, { version: registry.version, devices: registry.devices.filter((d) => d !== device) });
      process.stdout.write(`removed ${device.name} (DevEUI ${device.devEui}) from ${path}\n`);
    });

  devices
    .command("export")
    .description("export the asset list for the town, without keys")
    .option("--format <format>", "output format (csv)", "csv")
    .option("--output <file>", "write to a file instead of standard output")
    .option("--registry <file>", REGISTRY_HELP)
    .addHelpText(
      "after",
      `\nColumns: ${CSV_COLUMNS.join(",")}\n\nExample:\n  sensornet devices export --format csv > assets.csv`,
    )
    .action(async (options: { format: string; output?: string; registry?: string }) => {
      if (options.format !== "csv")
        throw new UsageError(`--format: unsupported format "${options.format}" (supported: csv)`);
      const csv = toCsv((await load(registryPath(options.registry))).devices);
      if (options.output === undefined) {
        process.stdout.write(csv);
      } else {
        try {
          writeFileSync(options.output, csv);
        } catch (err) {
          throw new UsageError(
            `cannot write ${options.output}: ${(err as NodeJS.ErrnoException).code ?? err}`,
          );
        }
      }
    });
}

async function addDevice(options: AddOptions): Promise<void> {
  const path = registryPath(options.registry);
  const keys = sessionKeys(options);
  const input: DeviceInput = {
    devEui: normaliseHex(options.devEui),
    devAddr: normaliseHex(options.devAddr),
    nwkSKey: keys.nwkSKey,
    appSKey: keys.appSKey,
    name: options.name,
    location: {
      lat: parseNumber("--lat", options.lat),
      lon: parseNumber("--lon", options.lon),
      ...(options.heightM === undefined ? {} : { heightM: parseNumber("--height-m", options.heightM) }),
      ...(options.description === undefined ? {} : { description: options.description }),
    },
    sensors: options.sensors
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "") as DeviceInput["sensors"],
    ...(options.licence === undefined ? {} : { licence: options.licence }),
    ...(options.directionAb === undefined ? {} : { directionAB: options.directionAb }),
    ...(options.installedAt === undefined ? {} : { installedAt: options.installedAt }),
  };
  const checked = validateDevice(input);
  if (!checked.ok) throw new UsageError(checked.issues.map(issueWithFlag).join("; "));
  const device = checked.device;

  let file: RegistryFile;
  let created: boolean;
  try {
    ({ file, created } = await loadRegistryOrEmpty(path));
  } catch (err) {
    throw usage(err);
  }
  for (const other of file.devices) {
    if (other.devEui === device.devEui) throw duplicate("DevEUI", device.devEui, other, path);
    if (other.devAddr === device.devAddr) throw duplicate("DevAddr", device.devAddr, other, path);
    if (other.name === device.name) throw duplicate("name", device.name, other, path);
  }
  file.devices.push(device);
  await save(path, file);

  process.stdout.write(
    `${created ? `created ${path}; ` : ""}added ${device.name} (DevEUI ${device.devEui}, DevAddr ${device.devAddr})\n`,
  );
  if (keys.generated) {
    process.stdout.write(
      `NwkSKey ${device.nwkSKey}\nAppSKey ${device.appSKey}\n` +
        "(generated keys, shown this once: provision them into the node now)\n",
    );
  }
}

function sessionKeys(options: AddOptions): { nwkSKey: string; appSKey: string; generated: boolean } {
  if (options.generateKeys) {
    if (options.nwkSkey !== undefined || options.appSkey !== undefined) {
      throw new UsageError("--generate-keys cannot be combined with --nwk-skey or --app-skey");
    }
    const random = () => randomBytes(16).toString("hex").toUpperCase();
    return { nwkSKey: random(), appSKey: random(), generated: true };
  }
  if (options.nwkSkey === undefined || options.appSkey === undefined) {
    throw new UsageError("--nwk-skey and --app-skey are required (or --generate-keys to create random ones)");
  }
  return {
    nwkSKey: normaliseHex(keyValue("--nwk-skey", options.nwkSkey)),
    appSKey: normaliseHex(keyValue("--app-skey", options.appSkey)),
    generated: false,
  };
}

/** "@file" reads the key from a file (first line); anything else is the key itself. */
function keyValue(flag: string, value: string): string {
  if (!value.startsWith("@")) return value;
  try {
    return readFileSync(value.slice(1), "utf8").split("\n")[0] ?? "";
  } catch (err) {
    throw new UsageError(
      `${flag}: cannot read ${value.slice(1)}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

/** Accepts "70 B3 D5 …", "70:B3:…", "70-B3-…" and a 0x prefix, as consoles and labels print them. */
function normaliseHex(value: string): string {
  return value.replace(/^0x/i, "").replace(/[\s:-]/g, "");
}

function parseNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new UsageError(`${flag}: expected a number, got "${value}"`);
  return n;
}

/** "location.lat: expected -90 … 90" → "--lat: expected -90 … 90". */
function issueWithFlag(issue: string): string {
  const colon = issue.indexOf(": ");
  const field = issue.slice(0, colon).replace(/\[\d+\]$/, "");
  const flag = FLAG_OF_FIELD[field];
  return flag === undefined ? issue : `${flag}${issue.slice(colon)}`;
}

function duplicate(what: string, value: string, other: Device, path: string): UsageError {
  return new UsageError(`${what} ${value} is already registered (device "${other.name}" in ${path})`);
}

async function load(path: string): Promise<Registry> {
  try {
    return await loadRegistry(path);
  } catch (err) {
    throw usage(err);
  }
}

async function save(path: string, file: RegistryFile): Promise<void> {
  try {
    await saveRegistry(path, file);
  } catch (err) {
    throw usage(err);
  }
}

function usage(err: unknown): unknown {
  if (!(err instanceof RegistryError)) return err;
  if (err.code === "not_found") {
    return new UsageError(
      `${err.message} (give --registry <file> or set SENSORNET_REGISTRY; \`sensornet devices add\` creates it)`,
    );
  }
  return new UsageError(err.message);
}

function formatTable(devices: readonly Device[]): string {
  const header = ["DEVEUI", "DEVADDR", "NAME", "SENSORS", "LAT", "LON", "LICENCE", "INSTALLED"];
  const rows = devices.map((d) => [
    d.devEui,
    d.devAddr,
    d.name,
    d.sensors.join(","),
    String(d.location.lat),
    String(d.location.lon),
    d.licence,
    d.installedAt ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()}\n`;
  const footer = `${devices.length} device${devices.length === 1 ? "" : "s"}\n`;
  return line(header) + rows.map(line).join("") + footer;
}

/** RFC 4180 CSV with a header row; sensors joined with ';'. */
export function toCsv(devices: readonly Device[]): string {
  const field = (v: string | number | undefined) => {
    const s = v === undefined ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const rows = devices.map((d) =>
    [
      d.devEui,
      d.devAddr,
      d.name,
      d.location.lat,
      d.location.lon,
      d.sensors.join(";"),
      d.licence,
      d.installedAt,
      d.location.heightM,
      d.location.description,
      d.directionAB,
    ]
      .map(field)
      .join(","),
  );
  return [CSV_COLUMNS.join(","), ...rows].map((r) => `${r}\r\n`).join("");
}
