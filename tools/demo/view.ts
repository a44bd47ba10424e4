/**
 * The demo's live view as text. Pure: a snapshot in, lines out. The terminal driver (live-view.ts) redraws
 * renderScreen() in place on a TTY, and prints plainSummary() lines and nodeTable() blocks otherwise.
 */
import type { NodeKind, Speed } from "../sim/index.ts";
import type { NodeLive } from "./live-state.ts";

export interface NodeRow {
  name: string;
  kind: NodeKind;
  devEui: string;
  /** What the broker has seen of this node; undefined before its first message. */
  live: NodeLive | undefined;
  /** Airtime in the module's current budget day (UTC day of simulated time), ms: its own counter 6. */
  airtimeMs: number;
  budgetMs: number;
  uplinks: number;
}

export interface GatewayFigures {
  framesReceived: number;
  accepted: number;
  /** Every drop reason, duplicates included. */
  dropped: number;
  duplicates: number;
  journalDepth: number;
  published: number;
  /** Messages published per wall second, over the last few seconds. */
  publishRate: number;
  mqttConnected: boolean;
  udpPort: number;
  metricsUrl: string | undefined;
  /** Warnings and errors the gateway logged, and the last one. */
  warnings: number;
  lastWarning: string | undefined;
}

export interface BrokerInfo {
  host: string;
  port: number;
  url: string;
  /** "embedded aedes on the standard port 1883", "MQTT_URL", … */
  description: string;
}

export interface DemoSnapshot {
  simNowMs: number;
  simStartMs: number;
  /** Simulated end (--duration with a unit), Unix ms. */
  simEndMs: number | undefined;
  speed: Speed;
  /** Wall ms since the fleet started. */
  wallMs: number;
  topicPrefix: string;
  broker: BrokerInfo;
  gateway: GatewayFigures;
  /** What the view's own subscriber received: observations (several per message), and messages under <prefix>/v1/. */
  brokerObservations: number;
  brokerMessages: number;
  nodes: NodeRow[];
}

export interface SubscribeHints {
  /** Whether mosquitto_sub is on PATH (then its command is shown too). */
  mosquittoSub: boolean;
}

const DAY_MS = 86_400_000;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "2026-06-01 Mon 07:13:20 UTC" */
export function simClock(ms: number): string {
  const d = new Date(ms);
  return `${d.toISOString().slice(0, 10)} ${WEEKDAYS[d.getUTCDay()]} ${d.toISOString().slice(11, 19)} UTC`;
}

/** "00:02:31" */
export function wallClock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** "600× (a simulated day in 2.4 min)" */
export function speedText(speed: Speed): string {
  if (speed === "max") return "as fast as possible";
  const dayS = 86_400 / speed;
  const day =
    dayS >= 3600
      ? `${fmt(dayS / 3600, 1)} h`
      : dayS >= 60
        ? `${fmt(dayS / 60, 1)} min`
        : `${fmt(dayS, dayS >= 10 ? 0 : 1)} s`;
  return `${speed}× (a simulated day in ${day})`;
}

function fmt(n: number, digits: number): string {
  return n.toFixed(digits).replace(/\.0+$/, "");
}

/** The commands to watch the broker from another terminal. */
export function subscribeCommands(s: Pick<DemoSnapshot, "broker" | "topicPrefix">, hints: SubscribeHints) {
  const topic = `'${s.topicPrefix}/v1/observations/#'`;
  const tls = s.broker.url.startsWith("mqtts:");
  const commands = [
    `npx mqtt sub -h ${s.broker.host} -p ${s.broker.port}${tls ? " -l mqtts" : ""} -t ${topic} -v`,
  ];
  if (hints.mosquittoSub) {
    commands.push(`mosquitto_sub -h ${s.broker.host} -p ${s.broker.port} -t ${topic} -v`);
  }
  return commands;
}

/** Lines that do not change during a run: where things are and how to look at them. */
export function introLines(s: DemoSnapshot, hints: SubscribeHints): string[] {
  const kinds = countKinds(s.nodes);
  return [
    `MQTT broker: ${s.broker.url} (${s.broker.description})`,
    `gateway: in this process, packet-forwarder UDP 127.0.0.1:${s.gateway.udpPort}` +
      (s.gateway.metricsUrl === undefined ? "" : `, metrics ${s.gateway.metricsUrl}`),
    `fleet: ${s.nodes.length} simulated nodes (${kinds}) on the real firmware, ${speedText(s.speed)}`,
    `uplinks: climate batches hourly, bike counts every 2 h of simulated time${firstData(s.speed)}`,
    "subscribe from another terminal (run it in this repository):",
    ...subscribeCommands(s, hints).map((c) => `  ${c}`),
    "times: phenomenonTime = simulated time of the reading; resultTime = the gateway's wall clock at reception",
  ];
}

/** ", the first values within ~6 s" at 600×. */
function firstData(speed: Speed): string {
  if (speed === "max") return "";
  const s = 3600 / speed;
  return `, the first values within ~${s >= 60 ? `${fmt(s / 60, 1)} min` : `${fmt(s, s >= 10 ? 0 : 1)} s`}`;
}

function countKinds(nodes: readonly NodeRow[]): string {
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(n.kind, (counts.get(n.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(", ");
}

function simDay(s: DemoSnapshot): string {
  const day = (s.simNowMs - s.simStartMs) / DAY_MS;
  const total = s.simEndMs === undefined ? "" : `/${fmt((s.simEndMs - s.simStartMs) / DAY_MS, 2)}`;
  return `day ${day.toFixed(2)}${total}`;
}

function gatewayLine(g: GatewayFigures): string {
  const dup = g.duplicates > 0 ? ` (${g.duplicates} duplicates)` : "";
  return (
    `gateway: frames ${g.framesReceived} received, ${g.accepted} accepted, ${g.dropped} dropped${dup} | ` +
    `journal ${g.journalDepth} | published ${g.published} (${g.publishRate.toFixed(1)}/s) | ` +
    `mqtt ${g.mqttConnected ? "connected" : "DISCONNECTED"}`
  );
}

/** One line for logs (stdout not a terminal). */
export function plainSummary(s: DemoSnapshot): string {
  const reporting = s.nodes.filter((n) => n.live !== undefined).length;
  return (
    `[sim ${simClock(s.simNowMs)} ${simDay(s)} | wall ${wallClock(s.wallMs)}] ${gatewayLine(s.gateway)} | ` +
    `broker: ${s.brokerObservations} observations | nodes reporting ${reporting}/${s.nodes.length}`
  );
}

function num(value: number | undefined, digits: number): string {
  return value === undefined ? "–" : value.toFixed(digits);
}

function hhmm(tS: number): string {
  return new Date(tS * 1000).toISOString().slice(11, 16);
}

function bikesText(live: NodeLive | undefined, kind: NodeKind): string {
  if (kind === "climate") return "";
  const b = live?.bikes;
  if (b === undefined) return "–";
  return `${b.ab ?? "?"} / ${b.ba ?? "?"}  ${hhmm(b.startS)}–${hhmm(b.endS)}`;
}

const COLUMNS: Array<{ title: string; width: number; right?: boolean; cell: (n: NodeRow) => string }> = [
  { title: "node", width: 16, cell: (n) => n.name },
  {
    title: "°C",
    width: 6,
    right: true,
    cell: (n) => (n.kind === "bike" ? "" : num(n.live?.temperature?.value, 2)),
  },
  {
    title: "%RH",
    width: 6,
    right: true,
    cell: (n) => (n.kind === "bike" ? "" : num(n.live?.humidity?.value, 2)),
  },
  { title: "at (sim)", width: 8, cell: (n) => (n.live?.temperature ? hhmm(n.live.temperature.tS) : "") },
  { title: "bikes A→B / B→A  bin", width: 23, cell: (n) => bikesText(n.live, n.kind) },
  { title: "RSSI", width: 5, right: true, cell: (n) => num(n.live?.rssi, 0) },
  { title: "SNR", width: 5, right: true, cell: (n) => num(n.live?.snr, 1) },
  { title: "batt V", width: 6, right: true, cell: (n) => num(n.live?.batteryV, 2) },
  {
    title: "airtime today",
    width: 15,
    right: true,
    cell: (n) => `${(n.airtimeMs / 1000).toFixed(1)} / ${fmt(n.budgetMs / 1000, 0)} s`,
  },
  { title: "uplinks", width: 7, right: true, cell: (n) => String(n.uplinks) },
];

function row(cells: string[]): string {
  return cells
    .map((c, i) => {
      const col = COLUMNS[i]!;
      return col.right ? c.padStart(col.width) : c.padEnd(col.width);
    })
    .join("  ")
    .trimEnd();
}

/** The per-node table; with `maxRows`, the rest is summarised in one line. */
export function nodeTable(nodes: readonly NodeRow[], maxRows = Number.POSITIVE_INFINITY): string[] {
  const lines = [row(COLUMNS.map((c) => c.title))];
  const shown = nodes.length > maxRows ? Math.max(0, maxRows - 1) : nodes.length;
  for (const n of nodes.slice(0, shown)) lines.push(row(COLUMNS.map((c) => c.cell(n))));
  if (shown < nodes.length) lines.push(`… ${nodes.length - shown} more nodes (a taller terminal shows them)`);
  return lines;
}

/** The whole screen for a terminal of `columns` × `rows`. */
export function renderScreen(
  s: DemoSnapshot,
  hints: SubscribeHints,
  size: { columns: number; rows: number },
): string[] {
  const top = [
    `OpenHerz Sensornet demo — simulated ${simClock(s.simNowMs)}, ${simDay(s)}, ${speedText(s.speed)} — wall ${wallClock(s.wallMs)}`,
    gatewayLine(s.gateway),
    `broker: ${s.brokerObservations} observations, ${s.brokerMessages} messages in all under ${s.topicPrefix}/v1/ seen by this view`,
    ...(s.gateway.warnings === 0
      ? []
      : [`gateway warnings: ${s.gateway.warnings}; last: ${s.gateway.lastWarning ?? ""}`]),
    "",
  ];
  const bottom = ["", ...introLines(s, hints), "Ctrl-C stops the fleet, then the gateway, then the broker."];
  const room = Math.max(3, size.rows - top.length - bottom.length - 1);
  const lines = [...top, ...nodeTable(s.nodes, room), ...bottom];
  return lines.map((l) => clip(l, size.columns));
}

function clip(line: string, columns: number): string {
  return line.length <= columns ? line : `${line.slice(0, Math.max(0, columns - 1))}…`;
}
