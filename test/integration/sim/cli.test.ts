// `sensornet sim` as a person runs it: a real process, a UDP socket standing in for the gateway.
import { spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRegistry } from "../../../gateway/lorawan/registry-file.ts";
import { encodePullAck, encodePushAck, parseDatagram } from "../../../gateway/radio/semtech-udp-codec.ts";
import { runSensornet, SENSORNET_BIN } from "../../support/gateway.ts";

let dir: string;
let udp: Socket;
let rxpk = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "openherz-sim-cli-"));
  udp = createSocket("udp4");
  udp.on("message", (msg, remote) => {
    const r = parseDatagram(msg);
    if (!r.ok) return;
    if (r.packet.type === "pull_data") udp.send(encodePullAck(r.packet.token), remote.port, remote.address);
    if (r.packet.type === "push_data") {
      rxpk += r.packet.rxpk.length;
      udp.send(encodePushAck(r.packet.token), remote.port, remote.address);
    }
  });
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", () => resolve()));
});

afterAll(async () => {
  udp.close();
  await rm(dir, { recursive: true, force: true });
});

describe("sensornet sim", () => {
  it("--registry-only writes the fleet's devices.json for the gateway", async () => {
    const path = join(dir, "devices.json");
    const run = await runSensornet([
      "sim",
      "--nodes",
      "3",
      "--seed",
      "4",
      "--registry-out",
      path,
      "--registry-only",
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/wrote 3 devices/);
    const registry = await loadRegistry(path);
    expect(registry.devices.map((d) => d.name)).toEqual([
      "sim-climate-001",
      "sim-climate-002",
      "sim-bike-003",
    ]);
  });

  it("runs a fleet against a Semtech UDP gateway and prints the truth as JSON lines", async () => {
    const before = rxpk;
    const port = (udp.address() as { port: number }).port;
    const run = await runSensornet([
      "sim",
      ...["--nodes", "2", "--kind", "both", "--days", "0.25", "--speed", "max"],
      ...["--gateway", `127.0.0.1:${port}`, "--print-truth", "--progress-interval", "0"],
    ]);
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string });
    const types = new Set(lines.map((l) => l.type));
    expect(types).toEqual(new Set(["climate", "bike", "frame"]));
    const frames = lines.filter((l) => l.type === "frame").length;
    expect(rxpk - before).toBe(frames);
    expect(run.stderr).toMatch(/day 0\.25\/0\.25/);
    expect(run.stderr).toMatch(/--fcnt-start \d+/);
  });

  it("stops cleanly on Ctrl-C", async () => {
    const port = (udp.address() as { port: number }).port;
    const child = spawn(
      process.execPath,
      [
        SENSORNET_BIN,
        "sim",
        "--nodes",
        "2",
        "--days",
        "forever",
        "--gateway",
        `127.0.0.1:${port}`,
        "--progress-interval",
        "0.2",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    await new Promise<void>((resolve) => {
      const check = () => (/node-days\/s/.test(stderr) ? resolve() : setTimeout(check, 20));
      check();
    });
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(0);
    expect(stderr).toMatch(/stopping/);
    expect(stderr).toMatch(/frames from 2 nodes/);
  });

  it("rejects bad options with one line and status 2", async () => {
    for (const args of [
      ["--kind", "tram"],
      ["--speed", "0"],
      ["--gateway", "nowhere"],
      ["--nodes", "-1"],
    ]) {
      const run = await runSensornet([
        "sim",
        ...args,
        "--registry-only",
        "--registry-out",
        join(dir, "x.json"),
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
