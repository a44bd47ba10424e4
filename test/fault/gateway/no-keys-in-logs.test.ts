/**
 * No session key and no MQTT password in the logs of a full run: the real gateway process at debug level,
 * its MQTT password read from a secret file, against a Mosquitto that requires it, taken through valid
 * frames, bad MICs, unknown devices, an undecodable payload, a registry reload that adds a device, an
 * invalid registry edit holding a new device's keys, and a broker restart. Then the complete stdout and
 * stderr are searched for every key in every spelling a log line could carry (hex upper and lower case,
 * base64, base64url, a Buffer's JSON byte list) and for the password. What the subscriber received is
 * searched too. The run must also have logged each of those events, or it proved nothing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveRegistry } from "../../../gateway/lorawan/registry-file.ts";
import { rxpk, uplink, VirtualForwarder } from "../../integration/gateway/helpers.ts";
import { spawnGateway, writeGatewayFiles } from "../../support/gateway.ts";
import { collect, mosquittoAvailable, startBroker, type TestBroker } from "../../support/mqtt-broker.ts";
import { climateFrame, frameKeys, makeDevices, waitForKeys } from "./helpers.ts";

const FORWARDER = "b827ebfffe445566";
const PASSWORD = "Pw-7c1e9a4f0b2d83e6-kerb!";
const READER_PASSWORD = "reader-pw-5512";
/** 0, 1 registered at start; 2 added by a reload; 3 only ever in an invalid registry edit. */
const devices = makeDevices(4, 0x6b6579);

let broker: TestBroker;
const cleanups: Array<() => unknown> = [];

function passwdAvailable(): boolean {
  if (!mosquittoAvailable()) return false;
  if (spawnSync("mosquitto_passwd", ["-h"], { stdio: "ignore" }).error === undefined) return true;
  if (process.env.CI === "true")
    throw new Error("mosquitto_passwd is required in CI (apt-get install mosquitto)");
  return false;
}

/** Every way a 16-byte key could show up in a log line. */
function spellings(hexKey: string): string[] {
  const bytes = Buffer.from(hexKey, "hex");
  return [
    hexKey.toUpperCase(),
    hexKey.toLowerCase(),
    bytes.toString("base64"),
    bytes.toString("base64url"),
    `[${[...bytes].join(",")}]`,
  ];
}

describe.runIf(passwdAvailable())("no keys in the logs of a full run (real process, debug level)", () => {
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "openherz-nokeys-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const passwd = join(dir, "passwd");
    execFileSync("mosquitto_passwd", ["-c", "-b", passwd, "gateway", PASSWORD], { stdio: "pipe" });
    execFileSync("mosquitto_passwd", ["-b", passwd, "reader", READER_PASSWORD], { stdio: "pipe" });
    broker = await startBroker({
      kind: "mosquitto",
      allowAnonymous: false,
      persistence: true, // the subscriber's session survives the broker restart
      config: [`password_file ${passwd}`],
    });
  });
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await broker?.dispose();
  });

  it("finds none of the session keys nor the MQTT password in stdout, stderr or on the broker", async () => {
    const prefix = `nokeys-${process.pid}`;
    const files = await writeGatewayFiles({
      brokerUrl: broker.url,
      devices: devices.slice(0, 2),
      topicPrefix: prefix,
      config: {
        mqtt: { username: "gateway", password: { file: "mqtt-password" } },
        registry: { pollIntervalMs: 500 },
        log: { level: "debug" },
      },
    });
    cleanups.push(() => files.dispose());
    writeFileSync(join(files.dir, "mqtt-password"), `${PASSWORD}\n`, { mode: 0o600 });
    const subscriber = await collect(broker.url, `${prefix}/#`, {
      username: "reader",
      password: READER_PASSWORD,
      clientId: `${prefix}-reader`,
      clean: false,
    });
    cleanups.push(() => subscriber.close());
    const gateway = spawnGateway(files.configPath);
    cleanups.push(() => gateway.stop("SIGKILL"));
    const { udpPort } = await gateway.ready;
    await gateway.stdout.waitFor((r) => r.msg === "mqtt connected");
    const forwarder = await VirtualForwarder.open(FORWARDER, { address: "127.0.0.1", port: udpPort! });
    cleanups.push(() => forwarder.close());
    const send = (phy: Uint8Array) => forwarder.pushAndWaitAck([rxpk(phy)]);
    const expected: string[] = [];
    const good = async (device: number, fcnt: number) => {
      await send(climateFrame(devices, device, fcnt));
      expected.push(...frameKeys(devices[device]!.devEui, fcnt, FORWARDER));
    };

    // Valid frames, bad MICs (signed with another device's key, or damaged), an undecodable payload.
    await good(0, 1);
    await good(1, 1);
    await send(uplink({ ...devices[0]!, nwkSKey: devices[1]!.nwkSKey }, 2, 1, Uint8Array.of(1, 2, 3)));
    const damaged = climateFrame(devices, 1, 2).slice();
    damaged[damaged.length - 1]! ^= 0xff;
    await send(damaged);
    await send(uplink(devices[0]!, 3, 1, Uint8Array.of(0xff, 0xfe)));
    // Unknown devices: one the registry will learn about, one it never will.
    await send(climateFrame(devices, 2, 1));
    await send(climateFrame(devices, 3, 1));

    // An invalid registry edit that carries a new device's keys: refused, the old registry kept.
    const invalid = {
      version: 1,
      devices: [...devices.slice(0, 2), { ...devices[3]!, licence: "CC-BY-4.0", colour: "green" }],
    };
    const tmp = `${files.registryPath}.edit`;
    writeFileSync(tmp, JSON.stringify(invalid, null, 2), { mode: 0o600 });
    renameSync(tmp, files.registryPath);
    await gateway.stdout.waitFor((r) => r.msg === "device registry not reloaded; keeping the previous one");
    await send(climateFrame(devices, 3, 2));

    // A valid reload adds device 2; its frames are accepted from then on.
    await saveRegistry(files.registryPath, {
      version: 1,
      devices: devices.slice(0, 3).map((d) => ({ ...d, licence: "CC-BY-4.0" })),
    });
    await gateway.stdout.waitFor((r) => r.msg === "device registry reloaded");
    await good(2, 5);

    // The broker goes away and comes back: reconnect with the password from the file.
    await broker.restart();
    await gateway.stdout.waitFor((r) => r.msg === "mqtt connection lost");
    const connects = () => gateway.stdout.records().filter((r) => r.msg === "mqtt connected").length;
    await gateway.stdout.waitFor(() => connects() >= 2);
    await good(0, 4);
    await good(1, 3);
    await waitForKeys(subscriber, expected);
    expect(await gateway.stop("SIGTERM")).toEqual({ code: 0, signal: null });

    const stdout = gateway.stdout.lines.join("");
    const output = `${stdout}\n${gateway.stderr()}`;
    const records = gateway.stdout.records();
    // The run went through every path it claims to.
    const reasons = records.map((r) => r.reason);
    expect(reasons).toEqual(
      expect.arrayContaining(["lorawan_bad_mic", "lorawan_unknown_devaddr", "payload_malformed"]),
    );
    expect(records.filter((r) => r.msg === "mqtt connected").length).toBeGreaterThanOrEqual(2);
    expect(records.some((r) => r.level === "debug")).toBe(true);
    expect(records.at(-1)?.msg).toBe("gateway stopped");

    const secrets = [
      ...devices.flatMap((d, i) => [
        ...spellings(d.nwkSKey).map((s) => ({ what: `device ${i} NwkSKey as ${s}`, s })),
        ...spellings(d.appSKey).map((s) => ({ what: `device ${i} AppSKey as ${s}`, s })),
      ]),
      { what: "MQTT password", s: PASSWORD },
      { what: "MQTT password (JSON-escaped)", s: JSON.stringify(PASSWORD).slice(1, -1) },
    ];
    const inLogs = secrets.filter(({ s }) => output.includes(s)).map(({ what }) => what);
    expect(inLogs, "secrets in the gateway's output").toEqual([]);
    const published = subscriber.messages.map((m) => `${m.topic} ${m.payload}`).join("\n");
    const onBroker = secrets.filter(({ s }) => published.includes(s)).map(({ what }) => what);
    expect(onBroker, "secrets in published messages").toEqual([]);
    console.log(
      `no keys in logs: ${records.length} log lines (${output.length} bytes) and ${subscriber.messages.length} ` +
        `messages searched for ${secrets.length} spellings of ${devices.length * 2} keys and the password: none found`,
    );
  });
});
