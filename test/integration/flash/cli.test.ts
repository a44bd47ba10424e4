// `sensornet flash` as the technician runs it: a real process (bin/sensornet.js) on one end of a real pty, the
// simulated node on the other; for the end-to-end test also the real gateway and a broker, fed by the node's
// virtual packet forwarder. Library-level sessions: session.test.ts.
import { chmodSync, existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { SerialPort } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../../gateway/gateway.ts";
import { loadRegistry } from "../../../gateway/lorawan/registry-file.ts";
import { loadConfig } from "../../../gateway/ops/config.ts";
import { candidatesOf, keyCheckValue, listSerialPorts } from "../../../tools/flash/index.ts";
import { LogCapture, writeGatewayFiles } from "../../support/gateway.ts";
import { collect, startBroker } from "../../support/mqtt-broker.ts";
import { observationsIn } from "../../support/observations.ts";
import { ptyTestsAvailable } from "../../support/pty.ts";
import { type CliRun, type Rig, runCli, startRig } from "./helpers.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rigged(options: Parameters<typeof startRig>[0] = {}): Promise<Rig> {
  const rig = await startRig(options);
  cleanups.push(() => rig.dispose());
  return rig;
}

function site(rig: Rig, name: string, extra: string[] = []): string[] {
  return [
    "flash",
    "--port",
    rig.port,
    "--firmware",
    rig.firmwareV2,
    "--name",
    name,
    "--lat",
    "52.3745",
    "--lon",
    "9.7386",
    "--sensors",
    "climate",
    "--config",
    "climate_interval_min=1",
    "--config",
    "climate_latency_s=60",
    "--timeout",
    "1000",
    ...extra,
  ];
}

/** One clear message, no stack trace. */
function expectFailure(run: CliRun, code: number, pattern: RegExp): void {
  expect(run.stderr, run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.code, run.stderr).toBe(code);
}

function factoryFresh(rig: Rig): void {
  expect(rig.device.store.record.identity).toEqual({});
  expect(rig.device.activeModule()).toMatchObject({ origin: "factory", sha256: rig.firmwareSha256 });
}

describe.runIf(ptyTestsAvailable())("sensornet flash against the simulated node", () => {
  it("end to end: flash, registry entry, the gateway accepts the node's uplinks with those keys, observations at the broker", async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.dispose());
    const files = await writeGatewayFiles({
      brokerUrl: broker.url,
      devices: [],
      config: {
        time: { trustForwarderGpsTime: true, waitForNtpSync: false },
        log: { level: "warn" },
        http: { enabled: false },
      },
    });
    cleanups.push(() => files.dispose());
    const gateway: Gateway = await startGateway(loadConfig(files.configPath), {
      logDestination: new LogCapture(),
      env: {},
    });
    cleanups.push(() => gateway.stop("test over"));
    const collector = await collect(broker.url, "openherz/#");
    cleanups.push(() => collector.close());
    const rig = await rigged({ gateway: { host: "127.0.0.1", port: gateway.udpAddress()!.port } });

    const run = await runCli(site(rig, "lamp-e2e", ["--registry", files.registryPath, "--yes"]));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /node on .*: board sim \(sim-1\), host 0\.1\.0, module fw \S+, ABI 1, EUI [0-9A-F]{16}, not provisioned/,
    );
    expect(run.stderr).toMatch(/uploading 0\/\d+ bytes \(0%\)/);
    expect(run.stderr).toMatch(/uploading (\d+)\/\1 bytes \(100%\)/);
    expect(run.stderr).toMatch(/provisioned lamp-e2e in/);
    expect(run.stderr).toMatch(/keys {6}NwkSKey KCV [0-9A-F]{6}, AppSKey KCV [0-9A-F]{6} \(verified\)/);
    expect(run.stderr).toMatch(
      new RegExp(`module .*SHA-256 ${rig.firmwareV2Sha256.slice(0, 16)}… in slot b \\(verified\\)`),
    );
    expect(run.stderr).toMatch(
      /self-test temperature -?\d+\.\d\d °C, humidity \d+\.\d\d %RH, battery \d\.\d{3} V, radio ok/,
    );
    expect(run.stderr).toMatch(/registry {2}added to /);
    console.log(`captured run:\n${run.stderr}`);

    // The entry: DevEUI from the node's own EUI, keys only in the registry, the same keys as in the node.
    const registry = await loadRegistry(files.registryPath);
    const device = registry.byName("lamp-e2e")!;
    const node = rig.device.store.record;
    expect(device.devEui).toBe(node.eui);
    expect(device.devAddr).toBe(node.identity.devAddr);
    expect(keyCheckValue(device.nwkSKey)).toBe(keyCheckValue(node.identity.nwkSKey!));
    expect(keyCheckValue(device.appSKey)).toBe(keyCheckValue(node.identity.appSKey!));
    for (const key of [device.nwkSKey, device.appSKey]) expect(run.stderr + run.stdout).not.toContain(key);

    // The node runs the flashed module; the gateway checks its MIC and decrypts with the registered keys.
    const topic = `openherz/v1/observations/${device.devEui}`.toLowerCase();
    const seen = await collector.waitFor(
      (ms) => ms.some((m) => m.topic.toLowerCase().startsWith(topic)),
      20_000,
    );
    const observations = observationsIn(seen.find((m) => m.topic.toLowerCase().startsWith(topic))!);
    expect(observations.length).toBeGreaterThan(0);
    for (const o of observations) {
      expect(o.Datastream["@iot.id"].toUpperCase()).toContain(device.devEui);
      expect(o["@iot.id"].startsWith(`${device.devEui.toUpperCase()}-`)).toBe(true);
    }
    expect(rig.device.activeModule().sha256).toBe(rig.firmwareV2Sha256);

    // The town's asset list: no keys.
    const csv = await runCli(["devices", "export", "--format", "csv", "--registry", files.registryPath]);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toContain(
      `${device.devEui},${device.devAddr},lamp-e2e,52.3745,9.7386,climate,CC-BY-4.0`,
    );
    expect(csv.stdout.toLowerCase()).not.toMatch(/skey/);
    for (const key of [device.nwkSKey, device.appSKey]) expect(csv.stdout).not.toContain(key);

    // The same name again: refused before the node is touched.
    const again = await runCli(
      site(rig, "lamp-e2e", ["--registry", files.registryPath, "--yes", "--dev-eui", "70B3D57ED00FFFFF"]),
    );
    expectFailure(again, 12, /name "lamp-e2e" is already registered .*nothing was written to the node/);
  });

  it("--dry-run identifies the node and prints the plan, and writes nothing", async () => {
    const rig = await rigged();
    const before = JSON.stringify(rig.device.store.record);
    const registryPath = join(rig.dir, "devices.json");
    const run = await runCli(site(rig, "dry", ["--registry", registryPath, "--dry-run"]));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/dry run, nothing written; the plan:/);
    expect(run.stderr).toMatch(/- set DevEUI [0-9A-F]{16}/);
    expect(run.stderr).toMatch(/- upload .*node-v2\.wasm \(\d+ bytes/);
    expect(run.stderr).toMatch(/- add "dry" to /);
    expect(JSON.stringify(rig.device.store.record)).toBe(before);
    expect(existsSync(registryPath)).toBe(false);
    factoryFresh(rig);

    const bare = await runCli(["flash", "--port", rig.port, "--dry-run", "--firmware", rig.firmware]);
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stderr).toMatch(/not provisioned/);
  });

  it("port busy: another program holds the port", async () => {
    const rig = await rigged();
    const other = new SerialPort({ path: rig.port, baudRate: 115200, autoOpen: false, lock: true });
    await new Promise<void>((resolve, reject) => other.open((e) => (e ? reject(e) : resolve())));
    cleanups.push(() => new Promise<void>((resolve) => other.close(() => resolve())));
    const run = await runCli(site(rig, "busy", ["--print-entry", "--yes"]));
    expectFailure(
      run,
      4,
      /port .* is busy: another program has it open\n {2}what to do: close serial monitors/,
    );
    factoryFresh(rig);
  });

  it("permission denied on the port, with the dialout hint", async () => {
    const rig = await rigged();
    let run: CliRun;
    if (process.getuid?.() === 0) {
      // Root opens anything: run the command as "nobody", to whom the pty (root, mode 0600) is closed, as
      // /dev/ttyUSB0 (root:dialout 0660) is to a technician outside the dialout group.
      console.log("permission test: running the CLI as uid 65534 (nobody) through setpriv");
      chmodSync(rig.dir, 0o755);
      chmodSync(rig.pty.dir, 0o755);
      run = await runCli(site(rig, "denied", ["--print-entry", "--yes"]), { asUid: 65534 });
    } else {
      console.log("permission test: chmod 000 on the pty");
      chmodSync(realpathSync(rig.port), 0o000);
      run = await runCli(site(rig, "denied", ["--print-entry", "--yes"]));
    }
    expectFailure(
      run,
      5,
      /permission denied on .*\n {2}what to do: .*sudo usermod -aG dialout \$USER, then log out and in again/,
    );
    factoryFresh(rig);
  });

  it("no device: a port that is not there; no adapter plugged in", async () => {
    const rig = await rigged();
    const missing = await runCli([
      ...site(rig, "x", ["--print-entry", "--yes"]),
      "--port",
      "/dev/ttyUSB-none",
    ]);
    expectFailure(missing, 3, /no device at \/dev\/ttyUSB-none/);
    if (candidatesOf(await listSerialPorts()).length === 0) {
      const args = site(rig, "x", ["--print-entry", "--yes"]).filter(
        (a, i, all) => a !== "--port" && all[i - 1] !== "--port",
      );
      const none = await runCli(args);
      expectFailure(none, 3, /no node found: no USB serial adapter of a known kind is plugged in/);
    } else {
      console.log("a USB serial adapter is plugged in: the 'no adapter' case is not checked here");
    }
  });

  it("wrong board: refused, nothing written", async () => {
    const rig = await rigged({ board: "ttgo-lora32-v1" });
    const run = await runCli(site(rig, "wrong", ["--print-entry", "--yes"]));
    expectFailure(run, 6, /wrong board: the device is a "ttgo-lora32-v1"/);
    expect(rig.device.store.record.identity).toEqual({});
  });

  it("unplugged mid-transfer: clear error, old module keeps running; the same command resumes", async () => {
    const rig = await rigged();
    let pulledAt = 0;
    const off = rig.device.onChunkStored((received, size) => {
      if (pulledAt > 0 || received < size / 2) return;
      pulledAt = received;
      off();
      rig.device.faults.silent = true;
      void rig.pty.stop();
    });
    const registryPath = join(rig.dir, "devices.json");
    const cut = await runCli(site(rig, "ladder", ["--registry", registryPath, "--yes"]));
    expectFailure(cut, 10, /was unplugged/);
    expect(cut.stderr).toMatch(/keeps running its current module; the partial upload stays .* resumes it/);
    expect(existsSync(registryPath)).toBe(false);
    expect(rig.device.activeModule()).toMatchObject({ origin: "factory", sha256: rig.firmwareSha256 });
    expect(rig.device.store.record.upload).toMatchObject({ received: pulledAt, verified: false });

    rig.device.faults.silent = false;
    await rig.pty.start();
    await rig.linked();
    const resumed = await runCli(site(rig, "ladder", ["--registry", registryPath, "--yes"]));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming the module upload at byte ${pulledAt}`));
    expect(resumed.stderr).toMatch(new RegExp(`upload {4}\\d+ bytes, resumed at byte ${pulledAt}`));
    expect(rig.device.activeModule().sha256).toBe(rig.firmwareV2Sha256);
    expect((await loadRegistry(registryPath)).byName("ladder")).toBeDefined();
  });

  it("checksum mismatch: every chunk damaged → retried, then aborted; the old module stays", async () => {
    const rig = await rigged({ faults: { corruptChunks: 1000 } });
    const run = await runCli(site(rig, "noisy", ["--print-entry", "--yes"]));
    expectFailure(run, 8, /checksum mismatch: the chunk at byte 0 arrived damaged 3 times/);
    expect(run.stderr).toMatch(/the upload was aborted; the node keeps running its previous module/);
    expect(run.stdout).toBe("");
    expect(rig.device.store.record.upload).toBeNull();
    expect(rig.device.activeModule()).toMatchObject({ origin: "factory" });
  });

  it("device rejected: the node's ERROR code and text; usage mistakes exit 2 before the node is touched", async () => {
    const rig = await rigged({ faults: { flashWriteError: true } });
    const run = await runCli(site(rig, "broken", ["--print-entry", "--yes"]));
    expectFailure(run, 9, /the device rejected AT\+DEVEUI: ERROR:12 flash write error/);

    rig.device.faults.flashWriteError = false;
    const noYes = await runCli(site(rig, "quiet", ["--print-entry"]));
    expectFailure(noYes, 2, /add --yes to provision without a question/);
    const badConfig = await runCli([
      ...site(rig, "bad", ["--print-entry", "--yes"]),
      "--config",
      "climate_interval_min=90",
    ]);
    expectFailure(badConfig, 2, /climate_interval_min.*outside 1\.\.60/);
    expect(rig.device.store.record.identity).toEqual({});
  });

  it("--print-entry: the registry entry for another machine, with the keys, and nothing else on stdout", async () => {
    const rig = await rigged();
    const run = await runCli(site(rig, "remote", ["--print-entry", "--yes", "--show-keys"]));
    expect(run.code, run.stderr).toBe(0);
    const entry = JSON.parse(run.stdout) as { name: string; nwkSKey: string; appSKey: string };
    expect(entry.name).toBe("remote");
    expect(keyCheckValue(entry.nwkSKey)).toBe(keyCheckValue(rig.device.store.record.identity.nwkSKey!));
    expect(run.stderr).toContain(`NwkSKey   ${entry.nwkSKey}`);
    expect(readFileSync(rig.firmwareV2).length).toBeGreaterThan(0);
  });
});
