/**
 * What the demo's live view knows about each node, built only from what the gateway published to the broker
 * (gateway/observations/README.md): the last temperature and humidity, the last complete bike bin, the
 * radio metadata of the last reception, the battery. Pure: messages in, state out, no I/O.
 */
import {
  expandObservations,
  type ObservationEnvelope,
  type RadioMetadataPayload,
} from "../../gateway/observations/index.ts";

export interface Reading {
  value: number;
  /** phenomenonTime, Unix s (simulated time). */
  tS: number;
}

export interface BikeBin {
  startS: number;
  endS: number;
  ab?: number;
  ba?: number;
}

export interface NodeLive {
  temperature?: Reading;
  humidity?: Reading;
  /** The newest bin seen; its two directions come on two topics. */
  bikes?: BikeBin;
  rssi?: number;
  snr?: number;
  /** Gateway (packet forwarder EUI) of the last reception. */
  heardVia?: string;
  batteryV?: number;
  /** Messages about this node so far. */
  messages: number;
}

export interface BrokerCounts {
  /** Observations on `<prefix>/v1/observations/#` (a message carries one uplink's, or a single one). */
  observations: number;
  /** Every message under `<prefix>/v1/`. */
  messages: number;
  /** Retained gateway status payloads by gateway id ("online" / "offline"). */
  gateways: Map<string, string>;
}

export class LiveState {
  readonly nodes = new Map<string, NodeLive>();
  readonly counts: BrokerCounts = { observations: 0, messages: 0, gateways: new Map() };
  private readonly base: string;

  constructor(topicPrefix: string) {
    this.base = `${topicPrefix}/v1/`;
  }

  /** The subscription that feeds handle(). */
  get filter(): string {
    return `${this.base}#`;
  }

  node(devEui: string): NodeLive {
    const key = devEui.toUpperCase();
    let node = this.nodes.get(key);
    if (node === undefined) {
      node = { messages: 0 };
      this.nodes.set(key, node);
    }
    return node;
  }

  /** One message from the broker; anything unexpected is ignored (the view must never crash on input). */
  handle(topic: string, payload: string): void {
    if (!topic.startsWith(this.base)) return;
    this.counts.messages++;
    const levels = topic.slice(this.base.length).split("/");
    if (payload === "") return; // a cleared retained message
    let body: unknown;
    try {
      body = JSON.parse(payload);
    } catch {
      return;
    }
    if (typeof body !== "object" || body === null) return;
    const [tree, a, b, c] = levels;
    if (tree === "observations" && a !== undefined && b !== undefined) {
      const node = this.node(a);
      node.messages++;
      const observations = expandObservations(body) ?? [];
      this.counts.observations += observations.length;
      for (const o of observations) this.observation(node, b, o);
    } else if (tree === "operator" && a === "uplinks" && b !== undefined) {
      const p = body as RadioMetadataPayload;
      const node = this.node(b);
      node.messages++;
      if (typeof p.rssi === "number") node.rssi = p.rssi;
      if (typeof p.snr === "number") node.snr = p.snr;
      if (typeof p.source?.id === "string") node.heardVia = p.source.id;
    } else if (tree === "operator" && a === "nodes" && b !== undefined) {
      const node = this.node(b);
      node.messages++;
      const volts =
        c === "battery_voltage"
          ? expandObservations(body)?.at(-1)?.result
          : c === "status"
            ? (body as { batteryV?: unknown }).batteryV
            : undefined;
      if (typeof volts === "number") node.batteryV = volts;
    } else if (tree === "operator" && a === "gateways" && b !== undefined && c === "status") {
      const status = (body as { status?: unknown }).status;
      if (typeof status === "string") this.counts.gateways.set(b, status);
    }
  }

  private observation(node: NodeLive, datastream: string, e: ObservationEnvelope): void {
    if (typeof e.result !== "number" || typeof e.phenomenonTime !== "string") return;
    const [from, to] = e.phenomenonTime.split("/");
    const tS = Date.parse(from ?? "") / 1000;
    if (!Number.isFinite(tS)) return;
    const reading = { value: e.result, tS };
    switch (datastream) {
      case "air_temperature":
        if (node.temperature === undefined || node.temperature.tS <= tS) node.temperature = reading;
        return;
      case "relative_humidity":
        if (node.humidity === undefined || node.humidity.tS <= tS) node.humidity = reading;
        return;
      case "bicycles_ab":
      case "bicycles_ba": {
        const endS = Date.parse(to ?? "") / 1000;
        if (node.bikes === undefined || node.bikes.startS < tS) {
          node.bikes = { startS: tS, endS: Number.isFinite(endS) ? endS : tS };
        } else if (node.bikes.startS > tS) return;
        if (datastream === "bicycles_ab") node.bikes.ab = e.result;
        else node.bikes.ba = e.result;
        return;
      }
    }
  }
}
