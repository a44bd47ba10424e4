// `sensornet gateway` as a real process: started with a config file, fed over UDP, scraped over HTTP, stopped
// with SIGTERM (exit 0, journal closed cleanly). And the config commands operators run by hand.
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { useFileBroker } from "../../support/file-broker.ts";
import {
  metricValue,
  runSensornet,
  scrapeMetrics,
  spawnGateway,
  writeGatewayFiles,
} from "../../support/gateway.ts";
import { collect } from "../../support/mqtt-broker.ts";
import { observationsOn } from "../../support/observations.ts";
import { ALL_KEYS, climateUplink, DEVICE_1, rxpk, VirtualForwarder } from "./helpers.ts";

const shared = useFileBroker();
const { cleanups } = shared;

describe("sensornet gateway (a real process)", () => {
  it("runs from its config file, forwards frames, serves /metrics and /health, stops cleanly on SIGTERM", async () => {
    const prefix = `proc-${process.pid}`;
    const files = await writeGatewayFiles({
      brokerUrl: shared.broker.url,
      devices: [DEVICE_1],
      topicPrefix: prefix,
    });
    cleanups.push(() => files.dispose());
    const observations = await collect(shared.broker.url, `${prefix}/v1/observations/#`);
    cleanups.push(() => observations.close());
    const gw = spawnGateway(files.configPath);
    cleanups.push(() => gw.stop("SIGKILL"));
    const { udpPort, httpPort } = await gw.ready;

    const fwd = await VirtualForwarder.open("b827ebfffe123456", { address: "127.0.0.1", port: udpPort! });
    cleanups.push(() => fwd.close());
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_1, 1))]);
    // Temperatures and humidities of the 3 slots, in one message per datastream (the default grouping).
    await observations.waitFor((ms) => observationsOn(ms, () => true).length === 6);
    expect(observations.messages.map((m) => m.topic).sort()).toEqual(
      ["air_temperature", "relative_humidity"].map(
        (ds) => `${prefix}/v1/observations/${DEVICE_1.devEui}/${ds}`,
      ),
    );

    const health = await (await fetch(`http://127.0.0.1:${httpPort}/health`)).json();
    expect(health).toMatchObject({ status: "ok", mqtt: { connected: true }, clock: { synced: true } });
    const metrics = await scrapeMetrics(httpPort!);
    expect(metricValue(metrics, "openherz_gateway_frames_accepted_total")).toBe(1);
    // Messages: the temperature, humidity and battery batches and the radio metadata.
    expect(metricValue(metrics, "openherz_gateway_messages_journaled_total")).toBe(4);
    expect(metricValue(metrics, "openherz_gateway_forwarders_seen")).toBe(1);

    const exit = await gw.stop("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    expect(gw.stderr()).toBe("");
    const messages = gw.stdout.records().map((r) => r.msg);
    expect(messages.at(-1)).toBe("gateway stopped");
    expect(messages).toContain("mqtt disconnected");
    // Closed cleanly: the WAL was checkpointed into the main file, which is intact.
    const wal = `${files.journalPath}-wal`;
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
    const db = new Database(files.journalPath, { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(db.prepare("SELECT fcnt32 FROM fcnt").pluck().all()).toEqual([1]);
    db.close();
    const log = gw.stdout.lines.join("");
    for (const key of ALL_KEYS) expect(log.toUpperCase()).not.toContain(key);
  });

  it("fails fast with one clear line and exit status 78 on a config error, 1 when a port or the journal is taken", async () => {
    const files = await writeGatewayFiles({ brokerUrl: shared.broker.url, devices: [DEVICE_1] });
    cleanups.push(() => files.dispose());
    const bad = join(files.dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ gatewayId: "x", mqtt: { url: "http://broker" } }));
    const taken = join(files.dir, "taken.json");
    const first = spawnGateway(files.configPath);
    cleanups.push(() => first.stop("SIGKILL"));
    const { udpPort } = await first.ready;
    writeFileSync(
      taken,
      JSON.stringify({
        ...files.config,
        gatewayId: "second",
        journal: { path: "second.sqlite" },
        udp: { host: "127.0.0.1", port: udpPort },
      }),
    );

    // Same journal as the running gateway, own ports: refused before it touches the journal.
    const sameJournal = join(files.dir, "same-journal.json");
    writeFileSync(sameJournal, JSON.stringify({ ...files.config, gatewayId: "third" }));

    const [configError, portTaken, journalTaken] = await Promise.all([
      runSensornet(["gateway", "--config", bad]),
      runSensornet(["gateway", "--config", taken]),
      runSensornet(["gateway", "--config", sameJournal]),
    ]);
    expect(configError.code).toBe(78);
    expect(configError.stderr).toContain("mqtt.url: must start with mqtt:// or mqtts://");
    expect(configError.stderr).not.toContain("    at ");
    expect(portTaken.code).toBe(1);
    expect(portTaken.stderr).toBe(
      `sensornet gateway: udp.port: cannot listen on 127.0.0.1:${udpPort}: address already in use ` +
        "(is another gateway or packet-forwarder server running?)\n",
    );
    expect(journalTaken.code).toBe(1);
    expect(journalTaken.stderr).toBe(
      `sensornet gateway: journal.path: cannot open ${join(files.dir, "journal.sqlite")}: in use by another ` +
        `process, which holds ${join(files.dir, "journal.sqlite")}.lock: is another gateway running with the same journal.path?\n`,
    );
    expect(await first.stop("SIGTERM")).toEqual({ code: 0, signal: null });
  });
});

describe("sensornet gateway --check-config / --print-config-template", () => {
  it("--check-config says config OK, or lists each problem with exit status 1", async () => {
    const files = await writeGatewayFiles({ brokerUrl: "mqtt://127.0.0.1:1883", devices: [DEVICE_1] });
    cleanups.push(() => files.dispose());
    const bad = join(files.dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({
        gatewayId: "mast 01",
        registry: { path: "missing.json" },
        mqtt: { url: "mqtt://b", pasword: "x" },
      }),
    );
    const [ok, problems] = await Promise.all([
      runSensornet(["gateway", "--check-config", "--config", files.configPath]),
      runSensornet(["gateway", "--check-config", "--config", bad]),
    ]);
    expect(ok).toMatchObject({ code: 0, stdout: `${files.configPath}: config OK\n`, stderr: "" });
    expect(problems.code).toBe(1);
    expect(problems.stdout).toBe("");
    expect(problems.stderr).toContain('mqtt.pasword: unknown field (did you mean "password"?)');
    expect(problems.stderr).toContain("gatewayId: expected 1 to 64 of A-Z a-z 0-9");
  });

  it("--print-config-template prints every field explained, then JSON that parses", async () => {
    const out = await runSensornet(["gateway", "--print-config-template"]);
    expect(out.code).toBe(0);
    const lines = out.stdout.split("\n");
    expect(lines[0]).toMatch(/^# OpenHerz Sensornet gateway configuration/);
    expect(out.stdout).toContain("# journal.commitIntervalMs  (default 20)");
    const json = JSON.parse(lines.filter((l) => !l.startsWith("#")).join("\n"));
    expect(json).toMatchObject({ gatewayId: "mast-01", mqtt: { url: "mqtts://broker.example.org:8883" } });
  });
});
