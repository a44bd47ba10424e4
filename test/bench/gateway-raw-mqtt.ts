/**
 * The baseline for the gateway's publishing rate: plain mqtt.js publishing at QoS 1 to the same broker in
 * the same run, with what the gateway's publisher does and nothing else — MQTT 5, the same window of
 * messages awaiting PUBACK, the same PUBLISH properties, and the same messages (topics and payloads the
 * gateway builds for one climate uplink), refilling the window on the next turn of the event loop after
 * each PUBACK. No journal, no decoding.
 */
import mqtt from "mqtt";
import { FRAME_RECORD_VERSION, renderFrame } from "../../gateway/frame-record.ts";
import type { OutgoingMessage } from "../../gateway/journal/journal.ts";
import { DEFAULT_TOPIC_PREFIX, expandObservations } from "../../gateway/observations/index.ts";
import { type BenchDevice, climatePayload } from "./gateway-fleet.ts";
import { cpuSecondsOf, median, sleep } from "./gateway-harness.ts";

/**
 * What one accepted climate uplink of the device becomes in the gateway, with the default grouping (as the
 * benchmark's gateway runs): the temperature, humidity and battery batches, then the radio metadata.
 */
export function messagesOfOneFrame(device: BenchDevice, fcnt32: number): OutgoingMessage[] {
  const now = Date.now();
  const { devEui, devAddr, name, location, sensors, licence } = device.input;
  return renderFrame({
    v: FRAME_RECORD_VERSION,
    devEui,
    devAddr,
    fcnt32,
    fport: 1,
    payload: Buffer.from(climatePayload(0, fcnt32)).toString("hex"),
    device: { devEui, name, location, sensors: sensors ?? [], licence: licence ?? "CC-BY-4.0" },
    times: { uplinkTimeMs: now, resultTimeMs: now },
    reception: {
      source: { kind: "udp", id: "b827ebfffe0be7c4" },
      radio: { rssi: -97, snr: 7.5, frequencyMhz: 868.5, dataRate: "SF9BW125", channel: 2, tmst: 1 },
    },
    topicPrefix: DEFAULT_TOPIC_PREFIX,
    grouping: "uplink",
  });
}

/** The observations in a frame's messages (the radio metadata carries none). */
export function observationsOfFrame(messages: readonly OutgoingMessage[]): number {
  return messages.reduce((n, m) => n + (expandObservations(JSON.parse(m.payload))?.length ?? 0), 0);
}

export interface RawMqttResult {
  /** Median over the slices of PUBACKed messages per second. */
  msgsPerS: number;
  slices: number[];
  /** CPU of this process (the publisher) and of Mosquitto, in % of one core. */
  publisherCpuPct: number;
  brokerCpuPct: number;
}

export async function benchRawMqtt(options: {
  url: string;
  brokerPid: number | undefined;
  messages: readonly OutgoingMessage[];
  window: number;
  warmupMs: number;
  slices: number;
  sliceMs: number;
}): Promise<RawMqttResult> {
  const client = await mqtt.connectAsync(options.url, {
    clientId: `bench-raw-${process.pid}`,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 60 },
    reconnectPeriod: 0,
  });
  const publishOptions = {
    qos: 1 as const,
    properties: { payloadFormatIndicator: true, contentType: "application/json" },
  };
  const msgs = options.messages;
  let inflight = 0;
  let acked = 0;
  let next = 0;
  let running = true;
  let scheduled = false;
  let failure: Error | undefined;
  const pump = () => {
    scheduled = false;
    while (running && inflight < options.window) {
      const m = msgs[next++ % msgs.length]!;
      inflight++;
      client.publish(m.topic, m.payload, publishOptions, (err) => {
        inflight--;
        if (err) failure ??= err;
        else acked++;
        if (!scheduled && running) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    }
  };
  try {
    pump();
    await sleep(options.warmupMs);
    const slices: number[] = [];
    const startCpu = process.cpuUsage();
    const startBroker = options.brokerPid === undefined ? 0 : cpuSecondsOf(options.brokerPid);
    const start = performance.now();
    let last = { at: start, acked };
    for (let i = 0; i < options.slices; i++) {
      await sleep(options.sliceMs);
      const now = { at: performance.now(), acked };
      slices.push(((now.acked - last.acked) * 1000) / (now.at - last.at));
      last = now;
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(startCpu);
    const brokerS = options.brokerPid === undefined ? 0 : cpuSecondsOf(options.brokerPid) - startBroker;
    if (failure !== undefined) throw new Error(`raw mqtt publish failed: ${failure.message}`);
    return {
      msgsPerS: median(slices),
      slices,
      publisherCpuPct: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      brokerCpuPct: (brokerS / seconds) * 100,
    };
  } finally {
    running = false;
    const deadline = performance.now() + 5000;
    while (inflight > 0 && performance.now() < deadline) await sleep(10);
    await client.endAsync(true);
  }
}
