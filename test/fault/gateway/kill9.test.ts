/**
 * kill -9 of the real gateway process (`sensornet gateway --config …`) at seeded random moments of a steady
 * stream of uplinks over real UDP, many cycles, always restarted on the same config and journal, against a
 * real Mosquitto. The moment is an event: the n-th PUSH_ACK, the n-th message reaching the subscriber (the
 * publisher mid-drain), or "gateway started" itself (backlog replay). What a PUSH_ACK promised must hold:
 *  - after every kill, the journal passes integrity_check and its FCnt state covers every acknowledged frame;
 *  - at the end, every message and every observation of every acknowledged frame has reached the broker
 *    (zero loss), duplicate messages carry identical ids AND identical payloads, every copy of an
 *    observation (by its own "@iot.id", inside the batches) is identical, and every value belongs to its
 *    frame.
 * Frames in flight at the kill are sent again after the restart (same bytes): a real forwarder would not,
 * but it makes the gateway tell "committed, not yet acknowledged" (now a replay, acknowledged at once and
 * already journaled) from "never committed" (accepted afresh). Late copies of a few frames acknowledged
 * before the kill are sent too: only the persisted FCnt stops them from being accepted a second time with
 * a new reception time (same ids, different payloads). GATEWAY_KILL9_CYCLES and GATEWAY_KILL9_SEED
 * change the run; the seed is in the test name.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Random } from "../../../tools/sim/models/random.ts";
import { VirtualForwarder } from "../../integration/gateway/helpers.ts";
import { type GatewayProcess, spawnGateway, writeGatewayFiles } from "../../support/gateway.ts";
import { type CollectedMessage, collect, startBroker, type TestBroker } from "../../support/mqtt-broker.ts";
import {
  analyse,
  frameKeys,
  frameObservationIds,
  freeUdpPort,
  makeDevices,
  type StreamFrame,
  UplinkStream,
  waitForKeys,
  wrongValues,
} from "./helpers.ts";

const CYCLES = Number(process.env.GATEWAY_KILL9_CYCLES ?? 15);
const SEED = Number(process.env.GATEWAY_KILL9_SEED ?? 0x9a7e);
const DEVICES = 6;
const WINDOW = 8;
const FORWARDER = "b827ebfffe0a0b0c";

let broker: TestBroker;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await broker?.dispose();
});

type Trigger = { kind: "ack"; n: number } | { kind: "published"; n: number } | { kind: "started" };

function pickTrigger(random: Random): Trigger {
  const r = random.next();
  if (r < 0.15) return { kind: "started" };
  if (r < 0.45) return { kind: "published", n: random.int(1, 3000) };
  return { kind: "ack", n: random.int(1, 500) };
}

it(`loses no acknowledged frame over ${CYCLES} kill -9 cycles (seed ${SEED})`, async () => {
  const random = new Random(SEED);
  const devices = makeDevices(DEVICES, SEED);
  const prefix = `kill9-${process.pid}`;
  const udpPort = await freeUdpPort();
  const files = await writeGatewayFiles({
    brokerUrl: broker.url,
    devices,
    gatewayId: "kill9-gw",
    topicPrefix: prefix,
    config: { udp: { port: udpPort }, log: { level: "info" } },
  });
  cleanups.push(() => files.dispose());
  const subscriber = await collect(broker.url, `${prefix}/v1/#`);
  cleanups.push(() => subscriber.close());
  const forwarder = await VirtualForwarder.open(FORWARDER, { address: "127.0.0.1", port: udpPort });
  cleanups.push(() => forwarder.close());
  const stream = new UplinkStream(forwarder, devices, { window: WINDOW });
  let gateway: GatewayProcess | undefined;
  cleanups.push(() => gateway?.stop("SIGKILL"));

  const log: string[] = [];
  let unacked: StreamFrame[] = [];
  let resentTotal = 0;
  let lateTotal = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const trigger = pickTrigger(random);
    const gw = spawnGateway(files.configPath);
    gateway = gw;
    await gw.ready;
    const kill = () => {
      if (gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill("SIGKILL");
    };
    const ackedBefore = stream.acked.length;
    let published = 0;
    const onMessage = (_topic: string, _payload: Buffer, packet: { retain: boolean }) => {
      if (packet.retain) return;
      published++;
      if (trigger.kind === "published" && published === trigger.n) kill();
    };
    subscriber.client.on("message", onMessage);
    stream.onAck = () => {
      if (trigger.kind === "ack" && stream.acked.length - ackedBefore === trigger.n) kill();
    };
    // Late copies of frames acknowledged before the kill (a second forwarder, a replay): the dedup cache
    // died with the process, so only the persisted FCnt keeps them from being accepted a second time.
    const copies = random.int(0, 4);
    const late = copies === 0 ? [] : stream.acked.slice(-copies);
    stream.resend([...late, ...unacked]);
    resentTotal += unacked.length;
    lateTotal += late.length;
    stream.start();
    if (trigger.kind === "started") kill();
    const exit = await gw.exited;
    stream.stop();
    stream.onAck = undefined;
    subscriber.client.off("message", onMessage);
    // Killed by the test, not dead by itself.
    expect({ cycle, exit, stderr: gw.stderr() }).toMatchObject({ exit: { signal: "SIGKILL" }, stderr: "" });

    unacked = stream.takeUnacked();
    // What the devices send while the gateway is down never reaches it: their counters move on.
    stream.skip(random, 3);
    const state = readJournal(files.journalPath);
    expect(state.integrity, `integrity_check after cycle ${cycle}`).toBe("ok");
    const behind = devices.flatMap((d, i) => {
      const acked = Math.max(0, ...stream.acked.filter((f) => f.device === i).map((f) => f.fcnt));
      const stored = state.fcnt.get(d.devEui) ?? 0;
      return stored < acked ? [`${d.devEui}: FCnt ${acked} acknowledged, journal has ${stored}`] : [];
    });
    expect(behind, `FCnt state after cycle ${cycle} (seed ${SEED})`).toEqual([]);
    log.push(
      `cycle ${cycle}: kill at ${trigger.kind}${"n" in trigger ? ` ${trigger.n}` : ""}, ` +
        `${stream.acked.length - ackedBefore} acked, ${published} messages seen, ` +
        `${unacked.length} in flight, ${state.queued} queued in the journal`,
    );
  }

  // The last start: the backlog drains, the stream goes on, nothing is killed any more.
  const last = spawnGateway(files.configPath);
  gateway = last;
  await last.ready;
  stream.resend(unacked);
  resentTotal += unacked.length;
  await stream.streamFrames(100);

  const frames = new Set(stream.acked);
  const expected = [...frames].flatMap((f) => frameKeys(devices[f.device]!.devEui, f.fcnt, FORWARDER));
  const expectedObservations = [...frames].flatMap((f) =>
    frameObservationIds(devices[f.device]!.devEui, f.fcnt),
  );
  await waitForKeys(subscriber, [...expected, ...expectedObservations], 30_000);
  expect(await last.stop("SIGTERM")).toEqual({ code: 0, signal: null });
  const final = readJournal(files.journalPath);
  expect(final.integrity).toBe("ok");
  expect(final.queued, "messages left in the journal after a clean stop").toBe(0);

  const delivery = analyse(subscriber.messages as CollectedMessage[]);
  const lost = expected.filter((key) => !delivery.byKey.has(key));
  expect(lost, `acknowledged but never published (seed ${SEED})`).toEqual([]);
  expect(delivery.conflicting, "same id, different payload or topic").toEqual([]);
  const lostObservations = expectedObservations.filter((id) => !delivery.observations.has(id));
  expect(lostObservations, `observations never published (seed ${SEED})`).toEqual([]);
  expect(delivery.conflictingObservations, "same observation id, different content").toEqual([]);
  expect(wrongValues(delivery, devices)).toEqual([]);
  const observationCopies = [...delivery.observations.values()].reduce((n, c) => n + c.length, 0);
  console.log(
    `gateway kill9: ${CYCLES} cycles, ${frames.size} frames acknowledged (${expected.length} messages, ` +
      `${expectedObservations.length} observations), ` +
      `${resentTotal} in flight at a kill re-sent, ${lateTotal} late copies of acknowledged frames, 0 lost, ${delivery.duplicates} duplicate deliveries ` +
      `(identical id and payload), ${observationCopies - delivery.observations.size} duplicate observations ` +
      `(identical id and content) (seed ${SEED})\n${log.join("\n")}`,
  );
}, 120_000);

function readJournal(path: string): { integrity: unknown; queued: number; fcnt: Map<string, number> } {
  // Read-only: no checkpoint on close, so the next gateway recovers the WAL the kill left behind itself.
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      integrity: db.pragma("integrity_check", { simple: true }),
      queued: db.prepare("SELECT count(*) FROM messages").pluck().get() as number,
      fcnt: new Map(db.prepare("SELECT dev_eui, fcnt32 FROM fcnt").raw().all() as Array<[string, number]>),
    };
  } finally {
    db.close();
  }
}
