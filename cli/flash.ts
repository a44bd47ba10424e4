// `sensornet flash`: provision a node over USB, and `sensornet flash simulate-device`: a simulated node on a
// pseudo-terminal to rehearse with. A thin layer over tools/flash/ (loaded only when this subcommand runs; it
// never loads the gateway's MQTT or SQLite): find the port, read the flags, run the session, print the result.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { FLASH_EXIT_HELP } from "../tools/flash/errors.ts";
import { registryPath } from "./devices.ts";
import { intOption as int } from "./options.ts";
import { parseTarget } from "./sim.ts";
import { UsageError } from "./usage-error.ts";

/** The module built in this checkout (`npm run build`), wherever the command runs from. */
const DEFAULT_FIRMWARE = fileURLToPath(new URL("../firmware/build/node.wasm", import.meta.url));

const HELP = `
Finds the node (USB serial adapters CP210x, CH340, CH9102, FTDI, ESP32-S3 native USB), identifies it, writes
its LoRaWAN identity and session keys (generated unless given), its configuration (FPort 10, shared/PAYLOAD.md)
and location, uploads the firmware module with a CRC per chunk and a final SHA-256, commits it, reads
everything back, runs the self-test and adds the node to the gateway's registry. Protocol:
hw/provisioning-protocol.md. An interrupted upload resumes when the same command runs again; a failed one
never activates: the node keeps running its previous module.

Keys are never printed unless --show-keys (or --print-entry, whose entry must carry them). Human output goes
to stderr; stdout carries only --print-entry's JSON.

Exit status: ${FLASH_EXIT_HELP.join(", ")}.

Examples:
  sensornet flash --name bahnhofstrasse-12 --lat 52.3745 --lon 9.7386 --sensors climate \\
      --config climate_interval_min=5 --registry /etc/openherz/devices.json
  sensornet flash --dry-run
  sensornet flash --port /dev/ttyUSB0 --yes --name lamp-7 --lat 52.37 --lon 9.73 --sensors climate,bike \\
      --print-entry > lamp-7.json
Rehearse without hardware (two terminals):
  sensornet flash simulate-device --link /tmp/node0
  sensornet flash --port /tmp/node0 --name rehearsal --lat 52.37 --lon 9.73 --sensors climate --yes`;

interface FlashOptions {
  port?: string;
  baud: string;
  listPorts?: boolean;
  firmware: string;
  devEui?: string;
  devAddr?: string;
  nwkSkey?: string;
  appSkey?: string;
  showKeys?: boolean;
  name?: string;
  lat?: string;
  lon?: string;
  heightM?: string;
  description?: string;
  directionAb?: string;
  licence?: string;
  installedAt?: string;
  sensors?: string;
  config: string[];
  cfgId: string;
  registry?: string;
  printEntry?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  resume: boolean;
  forceUpload?: boolean;
  setTime: boolean;
  timeout: string;
  verbose?: boolean;
}

interface SimulateOptions {
  link: string;
  stateDir?: string;
  gateway?: string;
  speed: string;
  board: string;
  abi: string;
  seed: string;
  node?: string;
  kind: string;
  sf?: string;
  firmware?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerFlash(program: Command): void {
  const flash = program
    .command("flash")
    .description("provision a node over USB: identity, keys, configuration, firmware module, registry entry")
    .option("--port <path>", "serial port (default: the only USB serial adapter found; asks if several)")
    .option("--baud <rate>", "baud rate", "115200")
    .option("--list-ports", "list serial ports (* = candidate) and exit")
    .option("--firmware <file.wasm>", "firmware module to upload", DEFAULT_FIRMWARE)
    .option("--dev-eui <hex>", "DevEUI, 16 hex digits (default: the node's own EUI)")
    .option("--dev-addr <hex>", "DevAddr, 8 hex digits (default: random 26xxxxxx not in the registry)")
    .option("--nwk-skey <hex|@file>", "NwkSKey, 32 hex digits or @file (default: generated)")
    .option("--app-skey <hex|@file>", "AppSKey, 32 hex digits or @file (default: generated)")
    .option("--show-keys", "print the session keys once at the end")
    .option("--name <name>", "unique name in the registry, e.g. the site")
    .option("--lat <degrees>", "latitude, WGS 84 decimal degrees")
    .option("--lon <degrees>", "longitude, WGS 84 decimal degrees")
    .option("--height-m <metres>", "height of the sensor above ground")
    .option("--description <text>", "where exactly, e.g. 'lamp post, east side'")
    .option("--direction-ab <text>", "what bike direction A→B means at this site")
    .option("--licence <spdx>", "licence of the published data", "CC-BY-4.0")
    .option("--installed-at <date>", "ISO 8601 date of installation")
    .option("--sensors <list>", "sensors fitted: climate, bike or climate,bike")
    .option(
      "--config <name=value>",
      "configuration entry as in shared/PAYLOAD.md FPort 10, e.g. climate_interval_min=10 (repeatable)",
      collect,
      [],
    )
    .option("--cfg-id <n>", "cfg_id of the configuration, 1..65535", "1")
    .option(
      "--registry <file>",
      "gateway registry to add the node to (default: $SENSORNET_REGISTRY, else ./devices.json)",
    )
    .option("--print-entry", "print the registry entry as JSON on stdout instead of writing a registry")
    .option("--dry-run", "identify the node and show the plan; write nothing")
    .option("-y, --yes", "do not ask for confirmation (unattended use)")
    .option("--no-resume", "start the upload over instead of resuming an interrupted one")
    .option("--force-upload", "upload even if the node already runs this module")
    .option("--no-set-time", "leave the node's clock alone")
    .option("--timeout <ms>", "per-command timeout", "2000")
    .option("-v, --verbose", "print every line sent and received (keys hidden)")
    .addHelpText("after", HELP)
    .action(async (options: FlashOptions) => {
      process.exit(await runFlash(options));
    });

  flash
    .command("simulate-device")
    .description("a simulated node on a pseudo-terminal, to rehearse `sensornet flash` without hardware")
    .requiredOption("--link <path>", "path of the serial port to create, e.g. /tmp/node0")
    .option("--state-dir <dir>", "the node's non-volatile memory (default: <link>.state)")
    .option("--gateway <host:port>", "send the node's uplinks to this gateway (Semtech UDP)")
    .option("--speed <x>", "simulated seconds per second (the node's clock)", "1")
    .option("--board <id>", "board the node reports (try another to rehearse 'wrong board')", "sim")
    .option("--abi <n>", "host ABI the node reports", "1")
    .option("--seed <n>", "seed of the sensor model (same as `sensornet sim --seed`)", "1")
    .option("--node <i>", "be node i (1-based) of `sensornet sim --seed S --kind K`: its sensors and EUI")
    .option("--kind <kind>", "with --node: climate | bike | both | mixed", "mixed")
    .option("--sf <sf>", "spreading factor 7..12 (default 9, or the simulator's for --node)")
    .option("--firmware <file.wasm>", "factory module of a new node", DEFAULT_FIRMWARE)
    .addHelpText(
      "after",
      `
The node starts factory-fresh (the factory module in slot A, no identity) unless its state directory holds an
earlier session. It runs until Ctrl-C; stopping it is unplugging the cable and switching the node off, the
state directory is its flash. Without socat (apt-get install socat) there are no pseudo-terminals.

Example:
  sensornet flash simulate-device --link /tmp/node0 --gateway 127.0.0.1:1700
  sensornet flash --port /tmp/node0 --name rehearsal --lat 52.37 --lon 9.73 --sensors climate --yes`,
    )
    .action(async (options: SimulateOptions) => {
      await runSimulateDevice(options);
    });
}

// ---------------------------------------------------------------------------------------------------------

function num(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n))
    throw new UsageError(`${flag}: expected a number, got "${text}"`);
  return n;
}

/** Accepts "70 B3 D5 …", "70:B3:…", "70-B3-…" and a 0x prefix, as consoles and labels print them. */
function hexFlag(flag: string, value: string | undefined, bytes: number): string | undefined {
  if (value === undefined) return undefined;
  const hex = value
    .replace(/^0x/i, "")
    .replace(/[\s:-]/g, "")
    .toUpperCase();
  if (!new RegExp(`^[0-9A-F]{${bytes * 2}}$`).test(hex))
    throw new UsageError(`${flag}: expected ${bytes * 2} hex digits`);
  return hex;
}

/** "@file" reads the key from a file (first line). The message never contains the key. */
function keyFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith("@")) return hexFlag(flag, value, 16);
  try {
    return hexFlag(flag, readFileSync(value.slice(1), "utf8").split("\n")[0] ?? "", 16);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `${flag}: cannot read ${value.slice(1)}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

const err = (line: string) => process.stderr.write(`${line}\n`);

function interactive(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** Asks on the terminal; Ctrl-C at the question answers "" (no). */
async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const cancel = new AbortController();
  rl.on("SIGINT", () => cancel.abort());
  try {
    return (await rl.question(question, { signal: cancel.signal })).trim();
  } catch {
    err("");
    return "";
  } finally {
    rl.close();
  }
}

async function runFlash(o: FlashOptions): Promise<number> {
  const flash = await import("../tools/flash/index.ts");
  const { FlashError } = flash;

  if (o.listPorts) {
    const ports = await flash.listSerialPorts();
    for (const line of flash.formatPortList(ports, flash.candidatesOf(ports)))
      process.stdout.write(`${line}\n`);
    return 0;
  }

  const baudRate = int("--baud", o.baud, 300, 4_000_000);
  const timeoutMs = int("--timeout", o.timeout, 100, 600_000);
  const cfgId = int("--cfg-id", o.cfgId, 1, 65535);
  const entryGiven =
    o.name !== undefined && o.lat !== undefined && o.lon !== undefined && o.sensors !== undefined;
  if (!o.dryRun && !entryGiven) {
    throw new UsageError("--name, --lat, --lon and --sensors are required (the node's registry entry)");
  }

  let client: InstanceType<typeof flash.FlashClient> | undefined;
  let progress: Progress | undefined;
  const controller = new AbortController();
  let uploading = false;
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    err("sensornet flash: stopping after the current command (Ctrl-C again to quit at once)");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  const started = performance.now();
  try {
    // Everything that can be checked without the node, first.
    const firmware = await flash.readFirmware(o.firmware);
    const sensors = o.sensors === undefined ? undefined : flash.parseSensors(o.sensors);
    const config =
      sensors === undefined
        ? undefined
        : flash.buildConfig({ sensors, cfgId, entries: flash.parseConfigEntries(o.config) });
    const nwkSKey = keyFlag("--nwk-skey", o.nwkSkey) ?? flash.randomKey();
    const appSKey = keyFlag("--app-skey", o.appSkey) ?? flash.randomKey();
    const keysGenerated = o.nwkSkey === undefined || o.appSkey === undefined;
    const registryFile = o.printEntry ? undefined : registryPath(o.registry);
    const registered = registryFile === undefined ? [] : await flash.registryDevices(registryFile);
    const devAddr = hexFlag("--dev-addr", o.devAddr, 4) ?? flash.randomDevAddr(registered);
    const devEuiFlag = hexFlag("--dev-eui", o.devEui, 8);
    // The entry's fields (name, coordinates, …) are checked now; the DevEUI may still come from the node.
    if (entryGiven && sensors !== undefined) {
      entry(flash, o, { devEui: devEuiFlag ?? "0".repeat(16), devAddr, nwkSKey, appSKey, sensors });
    }

    // The port.
    let path = o.port;
    if (path === undefined) {
      const candidates = flash.candidatesOf(await flash.listSerialPorts());
      const chosen = await flash.choosePort({
        candidates,
        interactive: interactive(),
        ask: async (list) => {
          list.forEach((c, i) => {
            err(`  ${i + 1}) ${c.path}  ${c.chip}${c.serialNumber ? `  serial ${c.serialNumber}` : ""}`);
          });
          const answer = await ask(`which node? [1-${list.length}] `);
          const n = Number(answer);
          return Number.isInteger(n) && n >= 1 && n <= list.length ? n - 1 : undefined;
        },
      });
      if ("ambiguous" in chosen) throw new UsageError(chosen.ambiguous);
      path = chosen.path;
      err(`sensornet flash: using ${path}${chosen.chip ? ` (${chosen.chip})` : ""}`);
    }
    const transport = await flash.openSerialTransport(path, { baudRate });
    client = new flash.FlashClient(transport, {
      timeoutMs,
      ...(o.verbose && {
        trace: (dir: "tx" | "rx", line: string) => err(`${dir === "tx" ? "→" : "←"} ${line}`),
      }),
    });

    // The node.
    const snapshot = await flash.inspectDevice(client);
    err(`sensornet flash: ${flash.describeNode(snapshot.identity, path)}`);
    flash.checkCompatible(snapshot.identity, firmware);
    if (!entryGiven || config === undefined || sensors === undefined) {
      err(
        "sensornet flash: dry run: give --name, --lat, --lon and --sensors to see the full plan; nothing written",
      );
      return 0;
    }
    const devEui = devEuiFlag ?? snapshot.identity.devEui ?? snapshot.identity.eui;
    const device = entry(flash, o, { devEui, devAddr, nwkSKey, appSKey, sensors });
    if (registryFile !== undefined) flash.checkConflicts(registered, device, registryFile);
    const location = { lat: device.location.lat, lon: device.location.lon, heightM: device.location.heightM };
    const plan = {
      devEui,
      devAddr,
      nwkSKey,
      appSKey,
      config: config.bytes,
      location,
      timeS: o.setTime ? Math.floor(Date.now() / 1000) : undefined,
      firmware,
      forceUpload: o.forceUpload === true,
      resume: o.resume,
    };
    const steps = flash.describePlan(snapshot, plan);
    if (registryFile !== undefined) steps.push(`add "${device.name}" to ${registryFile}`);
    else steps.push("print the registry entry on stdout");
    if (o.dryRun) {
      err("sensornet flash: dry run, nothing written; the plan:");
      for (const s of steps) err(`  - ${s}`);
      return 0;
    }
    if (!o.yes) {
      if (!interactive())
        throw new UsageError("add --yes to provision without a question (no terminal to ask)");
      for (const s of steps) err(`  - ${s}`);
      if (!/^y(es)?$/i.test(await ask(`provision this node as "${device.name}"? [y/N] `))) {
        err("sensornet flash: nothing written");
        return 0;
      }
    }

    const bar = await progressReporter(firmware.bytes.length);
    progress = bar;
    const report = await flash.provision(client, snapshot, plan, {
      onStep: (step) => {
        if (step.includes("upload")) uploading = true;
        else if (uploading) {
          uploading = false;
          bar.stop();
        }
        err(`sensornet flash: ${step}`);
      },
      onProgress: (received, total) => bar.update(received, total),
      ...(o.verbose && { onNote: (note: string) => err(`sensornet flash: ${note}`) }),
      signal: controller.signal,
    });
    bar.stop();

    let registry: { path: string; created: boolean } | undefined;
    if (registryFile !== undefined) {
      try {
        registry = { path: registryFile, ...(await flash.addToRegistry(registryFile, device)) };
      } catch (e) {
        // The node is provisioned; without its entry the gateway drops its uplinks. Print the entry so that
        // nothing has to be flashed again.
        process.stdout.write(`${JSON.stringify(device, null, 2)}\n`);
        err(
          "sensornet flash: the node is provisioned, but its registry entry (printed on stdout) was not saved",
        );
        throw e;
      }
    } else {
      process.stdout.write(`${JSON.stringify(device, null, 2)}\n`);
    }
    const summary = flash.formatSummary({
      report,
      device,
      firmwarePath: o.firmware,
      registry,
      durationMs: performance.now() - started,
    });
    for (const line of summary) err(line);
    for (const w of flash.selfTestWarnings(report.selfTest, sensors.includes("climate"))) {
      err(`  warning   ${w}`);
    }
    if (o.showKeys) {
      err(`  NwkSKey   ${nwkSKey}`);
      err(`  AppSKey   ${appSKey}`);
      if (keysGenerated) err("  (shown this once; the registry holds them)");
    }
    return 0;
  } catch (e) {
    progress?.stop();
    if (e instanceof flash.ConfigInputError || e instanceof flash.EntryInputError)
      throw new UsageError(e.message);
    if (!(e instanceof FlashError)) throw e;
    const extra = uploading && (e.kind === "disconnected" || e.kind === "timeout") ? [flash.RESUME_NOTE] : [];
    if (uploading && !extra.length)
      extra.push("the upload was aborted; the node keeps running its previous module");
    for (const line of flash.formatFailure(e, extra)) err(line);
    return e.exitCode;
  } finally {
    progress?.stop();
    process.off("SIGINT", onSignal);
    await client?.close().catch(() => {});
  }
}

function entry(
  flash: typeof import("../tools/flash/index.ts"),
  o: FlashOptions,
  id: { devEui: string; devAddr: string; nwkSKey: string; appSKey: string; sensors: string[] },
) {
  const heightM = num("--height-m", o.heightM);
  try {
    return flash.registryDevice({
      ...id,
      name: o.name!,
      location: {
        lat: num("--lat", o.lat)!,
        lon: num("--lon", o.lon)!,
        ...(heightM === undefined ? {} : { heightM }),
        ...(o.description === undefined ? {} : { description: o.description }),
      },
      sensors: id.sensors as ("climate" | "bike")[],
      ...(o.licence === undefined ? {} : { licence: o.licence }),
      ...(o.directionAb === undefined ? {} : { directionAB: o.directionAb }),
      ...(o.installedAt === undefined ? {} : { installedAt: o.installedAt }),
    });
  } catch (e) {
    if (e instanceof flash.EntryInputError) throw new UsageError(flagNames(e.message));
    throw e;
  }
}

/** "location.lat: expected -90 … 90" → "--lat: expected -90 … 90". */
function flagNames(message: string): string {
  const flags: Record<string, string> = {
    "location.lat": "--lat",
    "location.lon": "--lon",
    "location.heightM": "--height-m",
    "location.description": "--description",
    name: "--name",
    licence: "--licence",
    directionAB: "--direction-ab",
    installedAt: "--installed-at",
  };
  return message
    .split("; ")
    .map((issue) => {
      const colon = issue.indexOf(": ");
      const flag = flags[issue.slice(0, colon)];
      return flag === undefined ? issue : `${flag}${issue.slice(colon)}`;
    })
    .join("; ");
}

interface Progress {
  update(received: number, total: number): void;
  stop(): void;
}

/** A progress bar on a terminal; elsewhere (logs, tests) a line at every quarter. */
async function progressReporter(total: number): Promise<Progress> {
  if (process.stderr.isTTY) {
    const { SingleBar, Presets } = await import("cli-progress");
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: "  uploading [{bar}] {percentage}% | {value}/{total} bytes | {eta_formatted}",
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(received, t) {
        if (!started) {
          bar.start(t, received);
          started = true;
        } else bar.update(received);
      },
      stop() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let lastQuarter = -1;
  return {
    update(received, t) {
      const quarter = Math.floor((4 * received) / (t || total));
      if (quarter === lastQuarter) return;
      lastQuarter = quarter;
      err(`  uploading ${received}/${t} bytes (${Math.round((100 * received) / t)}%)`);
    },
    stop() {},
  };
}

// ---------------------------------------------------------------------------------------------------------

async function runSimulateDevice(o: SimulateOptions): Promise<void> {
  const { openPtyLink, SimulatedDevice } = await import("../tools/flash/simulated/index.ts");
  const speed = Number(o.speed);
  if (!Number.isFinite(speed) || speed <= 0)
    throw new UsageError(`--speed must be a positive number, got ${o.speed}`);
  const abi = int("--abi", o.abi, 0, 0xffff);
  const seed = int("--seed", o.seed, 0, 0xffffffff);
  let climate: { options?: object; fitted: boolean; eui?: string; sf?: number } = { fitted: true };
  if (o.node !== undefined) {
    const sim = await import("../tools/sim/index.ts");
    const index = int("--node", o.node, 1, 100_000);
    const kind = o.kind as (typeof sim.NODE_KINDS)[number];
    if (!sim.NODE_KINDS.includes(kind))
      throw new UsageError(`--kind must be one of ${sim.NODE_KINDS.join(", ")}`);
    const spec = sim.describeFleet({ nodes: index, seed, kind }).nodes[index - 1]!;
    climate = {
      options: spec.climate,
      fitted: spec.kind !== "bike",
      eui: spec.session.devEui,
      sf: spec.dataRate.sf,
    };
  }
  const sf = o.sf === undefined ? climate.sf : int("--sf", o.sf, 7, 12);
  const link = await openPtyLink(o.link).catch((e: Error) => {
    throw new UsageError(e.message);
  });
  const stateDir = o.stateDir ?? `${o.link}.state`;
  let device: Awaited<ReturnType<typeof SimulatedDevice.start>>;
  try {
    device = await SimulatedDevice.start({
      path: link.devicePath,
      stateDir,
      board: o.board,
      abi,
      speed,
      seed,
      ...(o.firmware !== undefined && { factoryWasm: o.firmware }),
      ...(o.gateway !== undefined && { gateway: parseTarget(o.gateway) }),
      ...(climate.options !== undefined && { climate: climate.options }),
      climateFitted: climate.fitted,
      ...(climate.eui !== undefined && { eui: climate.eui }),
      ...(sf !== undefined && { sf }),
      log: (m) => err(`node: ${m}`),
    });
  } catch (e) {
    await link.close();
    throw e;
  }
  const fw = device.activeModule();
  err(
    `sensornet flash simulate-device: node on ${o.link} (state in ${stateDir}; module fw ${fw.fw}, ${fw.origin}, ` +
      `slot ${fw.slot})${o.gateway === undefined ? "" : `, uplinks to ${o.gateway}`}; Ctrl-C to unplug and stop`,
  );
  err(`  try: sensornet flash --port ${o.link} --dry-run`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await device.close();
  await link.close();
}
