// Provisioning sessions (tools/flash/provision.ts) against the simulated node over a real pseudo-terminal:
// the library the CLI is a thin layer over. The CLI itself, the registry and the gateway: cli.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import {
  buildConfig,
  checkCompatible,
  type FlashClient,
  FlashError,
  inspectDevice,
  keyCheckValue,
  type ProvisionPlan,
  provision,
  readFirmware,
  uploadModule,
} from "../../../tools/flash/index.ts";
import { ptyTestsAvailable } from "../../support/pty.ts";
import { connect, type Rig, startRig } from "./helpers.ts";

const NWK = "2B7E151628AED2A6ABF7158809CF4F3C";
const APP = "000102030405060708090A0B0C0D0E0F";

let rig: Rig | undefined;
let client: FlashClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await rig?.dispose();
  rig = undefined;
});

async function plan(firmware: string, overrides: Partial<ProvisionPlan> = {}): Promise<ProvisionPlan> {
  return {
    devEui: "70B3D57ED0061234",
    devAddr: "26011BDA",
    nwkSKey: NWK,
    appSKey: APP,
    config: buildConfig({
      sensors: ["climate"],
      cfgId: 7,
      entries: { climateIntervalMin: 1, climateLatencyS: 60 },
    }).bytes,
    location: { lat: 52.3745, lon: 9.7386, heightM: 4 },
    timeS: Math.floor(Date.now() / 1000),
    firmware: await readFirmware(firmware),
    ...overrides,
  };
}

/** Pulls the cable when the node has stored half the module: it answers nothing more, then the pty goes. */
function unplugAtHalf(r: Rig): { pulledAt: () => number } {
  let pulledAt = 0;
  const off = r.device.onChunkStored((received, size) => {
    if (pulledAt > 0 || received < size / 2) return;
    pulledAt = received;
    off();
    r.device.faults.silent = true;
    void r.pty.stop();
  });
  return { pulledAt: () => pulledAt };
}

async function replug(r: Rig): Promise<void> {
  r.device.faults.silent = false;
  await r.pty.start();
  await r.linked();
}

describe.runIf(ptyTestsAvailable())("provisioning a simulated node over a real pty", () => {
  it("identify, keys, config, upload with progress, commit, read-back; the node runs the flashed module", async () => {
    rig = await startRig();
    client = await connect(rig.port);
    const before = await inspectDevice(client);
    expect(before.identity).toMatchObject({ board: "sim", abi: 1, proto: 1, devEui: undefined });
    expect(before.active).toMatchObject({ slot: "a", origin: "factory", sha256: rig.firmwareSha256 });
    const p = await plan(rig.firmwareV2);
    checkCompatible(before.identity, p.firmware);

    const progress: number[] = [];
    const steps: string[] = [];
    const report = await provision(client, before, p, {
      onStep: (s) => steps.push(s),
      onProgress: (n) => progress.push(n),
    });
    expect(steps).toEqual([
      "writing identity and keys",
      "writing configuration, location and time",
      "uploading the module",
      "reading back",
      "self-test",
    ]);
    const size = p.firmware.bytes.length;
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(size);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.length).toBe(Math.ceil(size / 256) + 1);
    expect(report.upload).toMatchObject({ kind: "uploaded", resumedFrom: 0, chunkResends: 0, uploads: 1 });
    expect(report.active).toMatchObject({ slot: "b", origin: "upload", sha256: rig.firmwareV2Sha256 });
    expect(report.keys).toEqual({ nwkSKey: keyCheckValue(NWK), appSKey: keyCheckValue(APP) });
    expect(report.config).toMatchObject({ result: 0, cfgId: 7 });
    expect(report.identity).toMatchObject({ devEui: "70B3D57ED0061234", devAddr: "26011BDA" });
    expect(report.selfTest.radio.ok).toBe(true);
    expect(report.selfTest.temperature.ok).toBe(true);

    // After the commit the node runs the flashed module with the new session.
    const uplink = await rig.device.nextUplink((u) => u.fport === 1);
    expect(uplink.moduleSha256).toBe(rig.firmwareV2Sha256);
    expect(uplink.devAddr).toBe("26011BDA");
    expect(Buffer.from(uplink.phyPayload.subarray(1, 5)).reverse().toString("hex").toUpperCase()).toBe(
      "26011BDA",
    );

    // A power cycle (same state directory): identity, config and module survive; FCnt goes on.
    await client.close();
    client = undefined;
    const fcnt = uplink.fcnt;
    await rig.restartDevice();
    expect(rig.device.activeModule().sha256).toBe(rig.firmwareV2Sha256);
    const later = await rig.device.nextUplink();
    expect(later.fcnt).toBeGreaterThan(fcnt);
    expect(later.devAddr).toBe("26011BDA");
    client = await connect(rig.port);
    const again = await inspectDevice(client);
    expect(again.config.hex).toBe(Buffer.from(p.config).toString("hex").toUpperCase());
    expect(again.location).toEqual({ lat: 52.3745, lon: 9.7386, heightM: 4 });
    // The same module again: not uploaded a second time.
    const second = await provision(client, again, p);
    expect(second.upload.kind).toBe("skipped");
  });

  it("an upload interrupted half-way (cable pulled) resumes on reconnect where it stopped", async () => {
    rig = await startRig();
    client = await connect(rig.port, 500);
    const p = await plan(rig.firmwareV2);
    const cable = unplugAtHalf(rig);
    const err = await provision(client, await inspectDevice(client), p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).kind).toBe("disconnected");
    expect((err as FlashError).message).toMatch(/unplugged/);
    await client.close();
    // Nothing half-written is active.
    expect(rig.device.activeModule()).toMatchObject({ origin: "factory", sha256: rig.firmwareSha256 });

    await replug(rig);
    client = await connect(rig.port);
    const snapshot = await inspectDevice(client);
    expect(snapshot.upload).toMatchObject({ state: "receiving", received: cable.pulledAt() });
    const progress: number[] = [];
    const report = await provision(client, snapshot, p, { onProgress: (n) => progress.push(n) });
    expect(report.upload.resumedFrom).toBe(cable.pulledAt());
    expect(report.upload.resumedFrom).toBeGreaterThanOrEqual(p.firmware.bytes.length / 2);
    expect(progress[0]).toBe(cable.pulledAt());
    expect(report.active.sha256).toBe(rig.firmwareV2Sha256);
  });

  it("a corrupted chunk is detected by its CRC on the node and sent again", async () => {
    rig = await startRig({ faults: { corruptChunks: 2 } });
    client = await connect(rig.port);
    const report = await provision(client, await inspectDevice(client), await plan(rig.firmwareV2));
    expect(report.upload.chunkResends).toBe(2);
    expect(report.active.sha256).toBe(rig.firmwareV2Sha256);

    // A link that damages every chunk: given up after 3 tries, aborted, the old module stays.
    rig.device.faults.corruptChunks = 1000;
    const v1 = await readFirmware(rig.firmware);
    const err = await uploadModule(client, v1).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "checksum", exitCode: 8 });
    expect(await client.fwStatus()).toEqual({ state: "idle" });
    expect(rig.device.activeModule().sha256).toBe(rig.firmwareV2Sha256);
  });

  it("a node of another board, or whose host speaks another ABI, is refused before anything is written", async () => {
    rig = await startRig({ board: "ttgo-lora32-v1" });
    client = await connect(rig.port);
    const p = await plan(rig.firmwareV2);
    const other = await inspectDevice(client);
    expect(() => checkCompatible(other.identity, p.firmware)).toThrow(
      /wrong board: the device is a "ttgo-lora32-v1"/,
    );
    await client.close();

    await rig.restartDevice({ board: "sim", abi: 2 });
    client = await connect(rig.port);
    const abi2 = await inspectDevice(client);
    const err = (() => {
      try {
        checkCompatible(abi2.identity, p.firmware);
      } catch (e) {
        return e as FlashError;
      }
    })();
    expect(err).toMatchObject({ kind: "wrong-board", exitCode: 6 });
    expect(err?.message).toMatch(/ABI mismatch: the node's host implements host ABI 2, .* needs ABI 1/);
    expect(rig.device.store.record.identity).toEqual({});

    // The node itself refuses to activate a module for another ABI, and keeps the old one.
    const refused = await uploadModule(client, p.firmware).catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: "wrong-board", deviceCode: 11 });
    expect(rig.device.activeModule()).toMatchObject({ origin: "factory", sha256: rig.firmwareSha256 });
  });

  it("unplugged mid-transfer: a clear error, and the node keeps running and sending with its old module", async () => {
    rig = await startRig();
    client = await connect(rig.port, 500);
    await provision(client, await inspectDevice(client), await plan(rig.firmwareV2));
    const sentBefore = rig.device.stats().uplinks;

    unplugAtHalf(rig);
    const v1 = await plan(rig.firmware);
    const err = await provision(client, await inspectDevice(client), v1).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "disconnected", exitCode: 10 });
    await client.close();
    client = undefined;

    expect(rig.device.activeModule()).toMatchObject({ origin: "upload", sha256: rig.firmwareV2Sha256 });
    const uplink = await rig.device.nextUplink((u) => u.fport === 1);
    expect(uplink.moduleSha256).toBe(rig.firmwareV2Sha256);
    expect(uplink.devAddr).toBe("26011BDA");
    expect(rig.device.stats().uplinks).toBeGreaterThan(sentBefore);

    await replug(rig);
    client = await connect(rig.port);
    const fw = await client.fw();
    expect(fw.sha256).toBe(rig.firmwareV2Sha256);
    expect((await client.fwStatus()).state).toBe("receiving");
  });

  it("a node that stops answering: timeout; a link that comes back: answers again", async () => {
    rig = await startRig();
    client = await connect(rig.port, 300);
    await client.sync();
    rig.device.faults.silent = true;
    await expect(client.identify()).rejects.toMatchObject({ kind: "timeout", exitCode: 7 });
    rig.device.faults.silent = false;
    expect((await client.identify()).board).toBe("sim");
  });
});
