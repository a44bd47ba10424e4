/**
 * Bad input of every kind against a running gateway (in process, the same code `sensornet gateway` runs):
 * datagrams over real UDP and lines over a real pseudo-terminal (an RN2483 played by the test), with good
 * frames interleaved. The gateway never stops, keeps accepting the good frames (their observations reach
 * Mosquitto), and counts EACH bad kind under its own reason: every case asserts the exact increments of
 * openherz_gateway_frames_dropped_total{reason} in /metrics, and that no other reason moved.
 *
 * A datagram the gateway does not answer gives no event, so each batch of bad datagrams is followed by a
 * good frame from the same socket: its PUSH_ACK proves that every datagram before it was handled (one
 * socket, handled in order). On the serial line, the RN2483 re-arms its receiver ("radio rx 0") after
 * every radio_* line, which is the event to wait for.
 */
import { createSocket, type Socket } from "node:dgram";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../../gateway/gateway.ts";
import { loadConfig } from "../../../gateway/ops/config.ts";
import { encodePushData, PULL_DATA, type RxpkJson } from "../../../gateway/radio/semtech-udp-codec.ts";
import { encodeClimate } from "../../../shared/payload/index.ts";
import { fcntHex, hex, rxpk, uplink, VirtualForwarder } from "../../integration/gateway/helpers.ts";
import { FakeModem, rn2483Responder } from "../../integration/radio/helpers.ts";
import { LogCapture, metricValue, scrapeMetrics, writeGatewayFiles } from "../../support/gateway.ts";
import { type Collector, collect, startBroker, type TestBroker } from "../../support/mqtt-broker.ts";
import { createPtyPair, ptyTestsAvailable } from "../../support/pty.ts";
import { buildUplink } from "../../unit/gateway/lorawan/helpers.ts";
import {
  analyse,
  climateFor,
  climateFrame,
  dropCounters,
  dropDeltas,
  frameObservationIds,
  makeDevices,
  OBSERVATIONS_PER_FRAME,
  waitForKeys,
} from "./helpers.ts";

const SEED = Number(process.env.GATEWAY_BAD_INPUT_SEED ?? 0xbad1);
const FORWARDER = "b827ebfffe112233";
const MAX_DATAGRAM = 2048;
const devices = makeDevices(3, SEED);
/** Good frames over UDP come from device 0, over serial from device 1; device 2 rolls its FCnt over. */
const [UDP_DEV, SERIAL_DEV, ROLL_DEV] = [0, 1, 2];

const cleanups: Array<() => unknown> = [];
let broker: TestBroker;
let gateway: Gateway;
let subscriber: Collector;
let forwarder: VirtualForwarder;
let raw: RawSender;
let modem: FakeModem;
let serialPath: string;
let httpPort: number;
const fcnt = [0, 0, 0];
/** Ids of the observations the good frames must produce. */
const expectedKeys: string[] = [];

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.runIf(ptyTestsAvailable())("bad input never stops the gateway and is counted by reason", () => {
  beforeAll(async () => {
    broker = await startBroker();
    cleanups.push(() => broker.dispose());
    const pty = await createPtyPair();
    cleanups.push(() => pty.dispose());
    modem = new FakeModem(pty.modemPath, rn2483Responder());
    await modem.open();
    cleanups.push(() => modem.close());
    serialPath = pty.gatewayPath;
    const prefix = `bad-${process.pid}`;
    const files = await writeGatewayFiles({
      brokerUrl: broker.url,
      devices,
      topicPrefix: prefix,
      config: {
        udp: { maxDatagramBytes: MAX_DATAGRAM },
        serial: [
          {
            path: serialPath,
            modem: "rn2483",
            commandTimeoutMs: 1000,
            reopenDelayMs: { initial: 20, max: 200 },
          },
        ],
        log: { level: "info" },
      },
    });
    cleanups.push(() => files.dispose());
    subscriber = await collect(broker.url, `${prefix}/v1/#`);
    cleanups.push(() => subscriber.close());
    gateway = await startGateway(loadConfig(files.configPath), { logDestination: new LogCapture() });
    cleanups.push(() => gateway.stop());
    await modem.untilCommand("radio rx 0");
    const udp = gateway.udpAddress()!;
    httpPort = gateway.httpAddress()!.port;
    forwarder = await VirtualForwarder.open(FORWARDER, udp);
    cleanups.push(() => forwarder.close());
    raw = await RawSender.open(udp);
    cleanups.push(() => raw.close());
  });

  it("random datagrams (fast-check, seeded): each one dropped under a udp_* reason or answered", async () => {
    const samples = fc
      .sample(randomDatagram(), { seed: SEED, numRuns: 400 })
      .filter((b) => !isMarker(b, PULL_DATA));
    const before = await snapshot();
    const repliesBefore = raw.replies;
    let silent = 0;
    for (const [i, bytes] of samples.entries()) {
      if (answersNothing(bytes)) silent++;
      await raw.send(bytes);
      if (i % 40 === 39) await goodUdpFrame();
    }
    await goodUdpFrame();
    await raw.sync();
    const after = await snapshot();
    const deltas = dropDeltas(before.drops, after.drops);
    const counted = Object.values(deltas).reduce((a, b) => a + b, 0);
    expect(Object.keys(deltas).filter((r) => !r.startsWith("udp_"))).toEqual([]);
    expect(counted + (raw.replies - repliesBefore) + silent, JSON.stringify(deltas)).toBe(samples.length);
    expect(after.accepted - before.accepted).toBe(Math.floor(samples.length / 40) + 1);
    expect(await health()).toBe("ok");
  });

  it("truncated and oversized datagrams", async () => {
    const full = pushData([rxpk(nextUdpFrame().phy)]);
    const phy = nextUdpFrame().phy;
    await expectDrops(
      {
        udp_too_short: 6,
        udp_bad_json: 4,
        udp_too_large: 2,
        udp_size_mismatch: 1,
        lorawan_malformed: 2,
        lorawan_bad_mic: 1,
      },
      async () => {
        for (const n of [0, 1, 3, 4, 8, 11]) await raw.send(full.subarray(0, n)); // header cut
        for (const n of [12, 13, full.length >> 1, full.length - 1]) await raw.send(full.subarray(0, n)); // JSON cut
        await goodUdpFrame();
        await raw.send(new Uint8Array(MAX_DATAGRAM + 1).fill(0x7b));
        await raw.send(new Uint8Array(65_507).fill(0x20));
        await goodUdpFrame();
        // The LoRaWAN frame itself cut short: size still says the full length, or data and size agree.
        await forwarder.pushAndWaitAck([{ ...rxpk(phy.subarray(0, 20)), size: phy.length }]);
        await forwarder.pushAndWaitAck([rxpk(phy.subarray(0, 10))]);
        await forwarder.pushAndWaitAck([rxpk(phy.subarray(0, 20))]);
        // A PHYPayload longer than any LoRa frame.
        await forwarder.pushAndWaitAck([rxpk(new Uint8Array(300).fill(0x40))]);
        await goodUdpFrame();
      },
      3,
    );
  });

  it("bad JSON, malformed structure, bad base64, size mismatch, CRC error, unknown header fields", async () => {
    const json = (text: string) => concat(header(0x00), Buffer.from(text));
    await expectDrops(
      {
        udp_bad_json: 4,
        udp_malformed: 3,
        udp_bad_rxpk: 2,
        udp_bad_base64: 4,
        udp_size_mismatch: 1,
        udp_crc_bad: 1,
        udp_unknown_version: 1,
        udp_unknown_identifier: 1,
        udp_unexpected_packet: 2,
      },
      async () => {
        for (const text of ["{", "not json at all", '{"rxpk":[}', "\u00ff\u00fe{}"])
          await raw.send(json(text));
        for (const text of ["[]", "42", '{"rxpk":{}}']) await raw.send(json(text));
        await raw.send(concat(Uint8Array.of(3, 0, 1, 0x00), new Uint8Array(8), Buffer.from("{}"))); // version 3
        await raw.send(Uint8Array.of(2, 0, 1, 0x09)); // no such identifier
        await raw.send(Uint8Array.of(2, 0, 1, 0x01)); // PUSH_ACK goes server → forwarder, not back
        await raw.send(concat(Uint8Array.of(2, 0, 1, 0x03), Buffer.from('{"txpk":{}}'))); // PULL_RESP likewise
        await goodUdpFrame();
        const { fcnt: f, phy: frame } = nextUdpFrame();
        expectedKeys.push(...observationKeys(UDP_DEV, f));
        const b64 = Buffer.from(frame).toString("base64");
        // One datagram, several rxpk: each bad one counted, the good one still accepted.
        await forwarder.pushAndWaitAck([
          { ...rxpk(frame), data: "!!!!" },
          42 as unknown as RxpkJson,
          { ...rxpk(frame), data: `${b64.slice(0, 9)}*${b64.slice(10)}` },
          rxpk(frame),
          { ...rxpk(frame), data: undefined as unknown as string },
          { ...rxpk(frame), data: "A" },
          { ...rxpk(frame), data: `${b64}===` },
          { ...rxpk(frame), size: frame.length + 1 },
          { ...rxpk(frame), stat: -1 },
        ]);
        await goodUdpFrame();
      },
      3,
    );
  });

  it("bad MIC, unknown devices, replayed and duplicated frames, non-uplinks", async () => {
    const stranger = { ...makeDevices(1, SEED + 1)[0]!, devAddr: "2A00BEEF" };
    const other = { ...devices[UDP_DEV]!, devAddr: "2700FFFF", nwkSKey: devices[UDP_DEV]!.appSKey };
    await expectDrops(
      {
        lorawan_bad_mic: 2,
        lorawan_unknown_devaddr: 2,
        lorawan_replay: 2,
        lorawan_duplicate: 1,
        lorawan_no_fport: 1,
        lorawan_not_uplink: 1,
        lorawan_version: 1,
        lorawan_malformed: 1,
      },
      async () => {
        const next = nextUdpFrame();
        const flipped = next.phy.slice();
        flipped[flipped.length - 1]! ^= 0x01;
        await forwarder.pushAndWaitAck([rxpk(flipped)]);
        const wrongKey = climate({ ...devices[UDP_DEV]!, nwkSKey: devices[ROLL_DEV]!.nwkSKey }, next.fcnt);
        await forwarder.pushAndWaitAck([rxpk(wrongKey)]);
        // Bad MICs consume nothing: the authentic frame with that counter is still accepted.
        await forwarder.pushAndWaitAck([rxpk(next.phy)]);
        expectedKeys.push(...observationKeys(UDP_DEV, next.fcnt));
        await forwarder.pushAndWaitAck([rxpk(climate(stranger, 7))]);
        await forwarder.pushAndWaitAck([rxpk(climate({ ...other, devAddr: "2700FFFE" }, 1))]);
        // The same bytes again: a duplicate. Other bytes with an old counter: replays.
        await forwarder.pushAndWaitAck([rxpk(next.phy)]);
        await forwarder.pushAndWaitAck([rxpk(uplink(devices[UDP_DEV]!, next.fcnt, 2, Uint8Array.of(1)))]);
        const older = { ...climateFor(UDP_DEV, next.fcnt - 2), ageS: 99 };
        await forwarder.pushAndWaitAck([
          rxpk(uplink(devices[UDP_DEV]!, next.fcnt - 2, 1, encodeClimate(older))),
        ]);
        // Authentic, fresh, MAC commands only: counted, and its counter is persisted.
        const macOnly = buildUplink({ ...keysOf(UDP_DEV), fcnt32: ++fcnt[UDP_DEV]!, fport: null });
        await forwarder.pushAndWaitAck([rxpk(macOnly)]);
        await forwarder.pushAndWaitAck([rxpk(Uint8Array.of(0x00, ...new Uint8Array(22)))]); // join request
        await forwarder.pushAndWaitAck([rxpk(concat(Uint8Array.of(0x41), next.phy.subarray(1)))]); // major 1
        await forwarder.pushAndWaitAck([rxpk(Uint8Array.of(0x40, 1, 2, 3, 4))]);
        await goodUdpFrame();
      },
      2,
    );
    const m = await scrapeMetrics(httpPort);
    expect(metricValue(m, "openherz_gateway_frames_duplicate_total")).toBe(1);
  });

  it("a rolled-over FCnt (0xFFFF → 0x0000 on air) is accepted as 0x10000; a replay after it is not", async () => {
    const roll = devices[ROLL_DEV]!;
    await expectDrops(
      { lorawan_replay: 1 },
      async () => {
        await forwarder.pushAndWaitAck([rxpk(climate(roll, 0xfffe))]);
        await forwarder.pushAndWaitAck([rxpk(climate(roll, 0xffff))]);
        const rolled = climate(roll, 0x1_0000);
        expect(rolled[6]! | (rolled[7]! << 8), "FCnt on air").toBe(0);
        await forwarder.pushAndWaitAck([rxpk(rolled)]);
        await forwarder.pushAndWaitAck([rxpk(uplink(roll, 0x1_0000, 2, Uint8Array.of(0)))]);
        await forwarder.pushAndWaitAck([rxpk(climate(roll, 0x1_0001))]);
      },
      4,
    );
    const keys = [0xfffe, 0xffff, 0x1_0000, 0x1_0001].flatMap((f) => observationKeys(ROLL_DEV, f));
    await waitForKeys(subscriber, keys);
    const id = `${roll.devEui}-00010000-air_temperature-0`;
    const [obs] = analyse(subscriber.messages).observations.get(id)!;
    expect(obs).toMatchObject({
      "@iot.id": id,
      result: climateFor(ROLL_DEV, 0x1_0000).temperatures[0]! / 100,
      parameters: { fcnt: 0x1_0000 },
    });
  });

  it("malformed CBOR behind a valid MIC: payload_malformed, counter consumed, radio metadata kept", async () => {
    const dev = devices[UDP_DEV]!;
    const garbageFcnt = ++fcnt[UDP_DEV]!;
    const unknownPortFcnt = ++fcnt[UDP_DEV]!;
    const truncatedFcnt = ++fcnt[UDP_DEV]!;
    await expectDrops(
      { payload_malformed: 3, lorawan_replay: 1 },
      async () => {
        await forwarder.pushAndWaitAck([
          rxpk(uplink(dev, garbageFcnt, 1, Uint8Array.of(0xff, 0x00, 0x13, 0x37))),
        ]);
        await forwarder.pushAndWaitAck([rxpk(uplink(dev, unknownPortFcnt, 99, Uint8Array.of(0x80)))]);
        const cbor = encodeClimate(climateFor(UDP_DEV, truncatedFcnt));
        await forwarder.pushAndWaitAck([
          rxpk(uplink(dev, truncatedFcnt, 1, cbor.subarray(0, cbor.length - 3))),
        ]);
        // The garbage frame consumed its counter: the real payload under it now is a replay.
        await forwarder.pushAndWaitAck([rxpk(climate(dev, garbageFcnt))]);
        await goodUdpFrame();
      },
      1,
    );
    const radio = (f: number) => `${dev.devEui}-${fcntHex(f)}-uplink-udp:${FORWARDER}`;
    await waitForKeys(subscriber, [garbageFcnt, unknownPortFcnt, truncatedFcnt].map(radio));
    const delivery = analyse(subscriber.messages);
    const frames = [garbageFcnt, unknownPortFcnt, truncatedFcnt];
    expect(
      frames.flatMap((f) => observationKeys(UDP_DEV, f)).filter((id) => delivery.observations.has(id)),
      "observations of undecodable payloads",
    ).toEqual([]);
    const ofFrames = frames.map((f) => `${dev.devEui}-${fcntHex(f)}-`);
    expect(
      [...delivery.byKey.keys()].filter(
        (k) => ofFrames.some((p) => k.startsWith(p)) && !k.includes("-uplink-"),
      ),
      "messages other than radio metadata for undecodable payloads",
    ).toEqual([]);
  });

  it("garbage serial lines over a real pty: each counted, the modem keeps receiving", async () => {
    let armed = modem.count("radio rx 0");
    /** A radio_* line makes the modem leave receive mode: wait until the gateway has re-armed it. */
    const radioLine = async (line: string) => {
      await modem.send(line);
      await modem.untilCommand("radio rx 0", ++armed);
    };
    const goodSerialFrame = async () => {
      const f = ++fcnt[SERIAL_DEV]!;
      await radioLine(`radio_rx  ${hex(climateFrame(devices, SERIAL_DEV, f))}`);
      expectedKeys.push(...observationKeys(SERIAL_DEV, f));
    };
    const before = await snapshot();
    await expectDrops(
      {
        serial_garbage: 4,
        serial_odd_hex: 1,
        serial_frame_too_long: 1,
        serial_line_too_long: 1,
        serial_rx_error: 1,
        lorawan_bad_mic: 1,
      },
      async () => {
        await goodSerialFrame();
        await modem.send("hello modem, anyone there?");
        await modem.sendRaw(Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x7f, 0x0d, 0x0a]));
        await goodSerialFrame();
        await radioLine("radio_rx  ABC");
        await radioLine("radio_rx  XYZ1");
        await radioLine(`radio_rx  ${"AB".repeat(256)}`);
        await modem.sendRaw(Buffer.from(`${"A".repeat(3000)}\r\n`, "latin1"));
        await goodSerialFrame();
        await radioLine("radio_err");
        await radioLine("radio_rx");
        const bad = climateFrame(devices, SERIAL_DEV, ++fcnt[SERIAL_DEV]!).slice();
        bad[bad.length - 2]! ^= 0x80;
        await radioLine(`radio_rx  ${hex(bad)}`);
        await goodSerialFrame();
      },
      4,
    );
    const after = await snapshot();
    expect(after.serialFrames - before.serialFrames).toBe(5);
    expect(gateway.health().serial).toEqual([
      expect.objectContaining({ path: serialPath, state: "receiving" }),
    ]);
  });

  it("afterwards: every good frame's observations reached the broker, the gateway is healthy", async () => {
    await waitForKeys(subscriber, expectedKeys);
    const m = await scrapeMetrics(httpPort);
    expect(metricValue(m, 'openherz_gateway_frames_dropped_total{reason="frame_handler_failed"}')).toBe(0);
    expect(await health()).toBe("ok");
    console.log(
      `bad input: ${expectedKeys.length / OBSERVATIONS_PER_FRAME} good frames accepted among the bad ones; drops by reason: ` +
        JSON.stringify(Object.fromEntries([...dropCounters(m)].filter(([, v]) => v > 0))),
    );
  });
});

/** Sends `act`'s input and checks that exactly these drop counters moved, and `good` frames were accepted. */
async function expectDrops(expected: Record<string, number>, act: () => Promise<void>, good: number) {
  const before = await snapshot();
  await act();
  await raw.sync();
  const after = await snapshot();
  expect(dropDeltas(before.drops, after.drops)).toEqual(expected);
  expect(after.accepted - before.accepted, "good frames accepted in between").toBe(good);
}

async function snapshot() {
  const m = await scrapeMetrics(httpPort);
  return {
    drops: dropCounters(m),
    accepted: metricValue(m, "openherz_gateway_frames_accepted_total")!,
    serialFrames: metricValue(m, 'openherz_gateway_frames_received_total{source="serial"}')!,
  };
}

async function health(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/health`);
  return ((await response.json()) as { status: string }).status;
}

function keysOf(device: number) {
  const d = devices[device]!;
  return { devAddr: d.devAddr, nwkSKey: d.nwkSKey, appSKey: d.appSKey };
}

function climate(device: (typeof devices)[number], fcnt32: number): Uint8Array {
  const index = devices.findIndex((d) => d.devEui === device.devEui);
  return uplink(device, fcnt32, 1, encodeClimate(climateFor(Math.max(0, index), fcnt32)));
}

function nextUdpFrame() {
  const f = ++fcnt[UDP_DEV]!;
  return { fcnt: f, phy: climateFrame(devices, UDP_DEV, f) };
}

/** The ids of the open-data and battery observations of a climate frame. */
function observationKeys(device: number, f: number): string[] {
  return frameObservationIds(devices[device]!.devEui, f);
}

async function goodUdpFrame(): Promise<void> {
  const { fcnt: f, phy } = nextUdpFrame();
  await forwarder.pushAndWaitAck([rxpk(phy)]);
  expectedKeys.push(...observationKeys(UDP_DEV, f));
}

function header(identifier: number, version = 2): Uint8Array {
  return concat(Uint8Array.of(version, 0x12, 0x34, identifier), Buffer.from(FORWARDER, "hex"));
}

function pushData(rxpks: RxpkJson[]): Uint8Array {
  return encodePushData(0x4242, FORWARDER, { rxpk: rxpks });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Noise, headers with random bodies, and PUSH_DATA with random JSON or text. */
function randomDatagram(): fc.Arbitrary<Uint8Array> {
  const eui = fc.uint8Array({ minLength: 8, maxLength: 8 });
  const head = (identifier: fc.Arbitrary<number>) =>
    fc
      .tuple(fc.constantFrom(1, 2), fc.integer({ min: 0, max: 0xfeff }), identifier, eui)
      .map(([v, token, id, e]) => concat(Uint8Array.of(v, token >> 8, token & 0xff, id), e));
  const text = (body: fc.Arbitrary<string>) =>
    fc.tuple(head(fc.constant(0x00)), body).map(([h, b]) => concat(h, Buffer.from(b)));
  return fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc
      .tuple(head(fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 300 }))
      .map(([h, b]) => concat(h, b)),
    text(fc.json()),
    text(fc.string({ maxLength: 200 })),
  );
}

/** TX_ACK with an empty or well-formed body is valid and answered by nothing. */
function answersNothing(bytes: Uint8Array): boolean {
  if (bytes.length < 12 || (bytes[0] !== 1 && bytes[0] !== 2) || bytes[3] !== 0x05) return false;
  let end = bytes.length;
  while (end > 12 && (bytes[end - 1] === 0 || bytes[end - 1] === 0x20 || bytes[end - 1] === 0x0a)) end--;
  if (end === 12) return true;
  try {
    JSON.parse(new TextDecoder().decode(bytes.subarray(12, end)));
    return true;
  } catch {
    return false;
  }
}

/** The sync marker: PULL_DATA (and its PULL_ACK) with token 0xFFxx; random datagrams never use it. */
function isMarker(bytes: Uint8Array, identifier: number): boolean {
  return bytes.length >= 4 && bytes[0] === 2 && bytes[1] === 0xff && bytes[3] === identifier;
}

/** A forwarder socket that sends anything and counts whatever the gateway answers. */
class RawSender {
  replies = 0;
  private markersSent = 0;
  private markersSeen = 0;
  private readonly waiters: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly target: { address: string; port: number },
  ) {
    socket.on("message", (msg) => {
      // The sync marker: a PULL_ACK with token 0xFFxx, answered after everything sent before it.
      if (isMarker(msg, 0x04)) {
        this.markersSeen++;
        for (const w of this.waiters.splice(0)) w();
      } else this.replies++;
    });
  }

  static async open(target: { address: string; port: number }): Promise<RawSender> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return new RawSender(socket, target);
  }

  /** Resolves once the datagram has left the socket (on loopback: is in the gateway's receive queue). */
  send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(bytes, this.target.port, this.target.address, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  /** Resolves once every answer to what was sent before has arrived. */
  async sync(): Promise<void> {
    const n = ++this.markersSent;
    await this.send(concat(Uint8Array.of(2, 0xff, n & 0xff, PULL_DATA), Buffer.from(FORWARDER, "hex")));
    await new Promise<void>((resolve) => {
      const check = () => (this.markersSeen >= n ? resolve() : this.waiters.push(check));
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
