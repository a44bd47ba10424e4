// The annotated config template (`sensornet gateway --print-config-template`). JSON has no comments, so the
// explanation comes first as "#" lines, then the JSON to save. Defaults are read from the schema, so the
// listing cannot drift from it; a test asserts that every schema field has a line here.
import { gatewayConfigSchema } from "./config-schema.ts";

/** [field path, explanation]; "serial[]" is any element of the serial list. Order = listing order. */
export const FIELD_DOCS: ReadonlyArray<readonly [string, string]> = [
  ["gatewayId", 'This gateway\'s name in MQTT topics and its status message, e.g. "mast-01".'],
  ["registry.path", "Device registry file (sessions and keys), managed with `sensornet devices`. chmod 600."],
  ["registry.watch", "Reload the registry when the file changes, without a restart."],
  [
    "registry.pollIntervalMs",
    "Also re-check the registry this often, for file systems that miss events. 0 = never.",
  ],
  ["journal.path", "SQLite journal of outgoing messages and FCnt state. Put it on the SD card or a USB SSD."],
  ["journal.maxMessages", "Bound on queued messages; beyond it the oldest are dropped (and counted)."],
  ["journal.maxBytes", "Bound on queued message bytes (id + topic + payload); oldest dropped beyond it."],
  ["journal.maxAgeS", "Messages older than this are dropped (counted) even if the broker never comes back."],
  [
    "journal.commitIntervalMs",
    "Frames are committed in batches at most this far apart (spares the SD card). Keep it well under the packet forwarder's 100 ms PUSH_ACK timeout.",
  ],
  [
    "journal.commitMaxEntries",
    "...or as soon as this many frames wait. A frame is acknowledged only once committed.",
  ],
  [
    "journal.memoryCacheBytes",
    "Committed messages also kept in RAM up to this many bytes, so publishing need not read them back (0 = off).",
  ],
  ["udp.enabled", "Run the Semtech UDP packet-forwarder server."],
  [
    "udp.host",
    "Address to listen on: 127.0.0.1 for a forwarder on this Pi, 0.0.0.0 for remote ones, :: for IPv6.",
  ],
  ["udp.port", "UDP port; point the forwarder's serv_port_up and serv_port_down here."],
  ["udp.allowedGatewayEuis", "Optional list of gateway EUIs accepted (16 hex digits); others are dropped."],
  ["udp.allowedSources", "Optional list of sender IP addresses accepted; others are dropped."],
  ["udp.maxDatagramBytes", "Larger datagrams are dropped (udp_too_large)."],
  ["udp.maxForwarders", "Forwarders tracked for /health; the least recently seen is forgotten first."],
  [
    "udp.maxPendingDatagrams",
    "Datagrams waiting for the journal; beyond it new ones are dropped (udp_overloaded).",
  ],
  ["serial", "Serial LoRa modems, zero or more. Each entry: see serial[].* below."],
  ["serial[].path", "Device path; prefer a stable /dev/serial/by-id/... name over /dev/ttyUSB0"],
  ["serial[].modem", '"rn2483" (Microchip RN2483 radio rx) or "rak3172" (RAK3172 RUI3 P2P receive)'],
  ["serial[].baudRate", "Default per modem: rn2483 57600, rak3172 115200."],
  ["serial[].name", "Name in logs and metrics; default the path."],
  ["serial[].commandTimeoutMs", "How long to wait for the modem's answer to a command."],
  ["serial[].maxLineLength", "Longer lines are discarded (serial_line_too_long)."],
  ["serial[].reopenDelayMs.initial", "First delay before reopening an unplugged or busy port..."],
  ["serial[].reopenDelayMs.max", "...doubling (with jitter) up to this. Reopening never gives up."],
  [
    "serial[].rn2483.radioSettings",
    'RN2483 "radio set" arguments, e.g. ["mod lora", "freq 868100000", "sf sf7", ...].',
  ],
  ["serial[].rn2483.querySnr", "Ask the RN2483 for the SNR of each frame."],
  ["serial[].rn2483.queryRssi", "Ask the RN2483 for the RSSI of each frame (newer firmware only)."],
  [
    "serial[].rak3172.setup",
    'RAK3172 commands sent before receiving, e.g. ["AT+NWM=0", "AT+P2P=868100000:7:0:1:8:14"].',
  ],
  ["serial[].rak3172.receiveCommand", 'Command that starts continuous receive; default "AT+PRECV=65534".'],
  [
    "serial[].frameRadio.frequencyMhz",
    "Frequency to record on frames from this modem (modems do not report it).",
  ],
  ["serial[].frameRadio.dataRate", 'Data rate to record on frames from this modem, e.g. "SF7BW125".'],
  ["mqtt.url", "Broker: mqtts://host:8883 (TLS) or mqtt://host:1883."],
  ["mqtt.clientId", 'MQTT client id; keep it stable (persistent session). Default "openherz-<gatewayId>".'],
  ["mqtt.username", "User name, if the broker wants one."],
  ["mqtt.password", 'Password; write {"env": "MQTT_PASSWORD"} or {"file": "/etc/openherz/mqtt-password"}.'],
  ["mqtt.passwordFile", "Alternatively: file holding the password (mode 600; trailing newline removed)."],
  ["mqtt.ca", "CA certificate file (PEM) for a broker whose certificate is not in the system store."],
  ["mqtt.cert", "Client certificate file (PEM), with mqtt.key."],
  ["mqtt.key", "Client private key file (PEM); must be mode 600 (readable by the gateway's user only)."],
  ["mqtt.topicPrefix", 'First topic levels of everything published, e.g. "openherz" or "city/sensors".'],
  [
    "mqtt.observationGrouping",
    '"uplink": one message per uplink and datastream (default); "observation": one per observation.',
  ],
  ["mqtt.protocolVersion", "5 (MQTT 5) or 4 (MQTT 3.1.1)."],
  ["mqtt.protocolFallback", "With protocolVersion 5: retry with 3.1.1 when the broker refuses MQTT 5."],
  ["mqtt.keepaliveS", "MQTT keepalive; a dead connection is noticed after about 1.5 times this."],
  ["mqtt.connectTimeoutMs", "Give up one connection attempt after this (then back off and retry)."],
  ["mqtt.reconnectMinMs", "First reconnect delay; doubles with jitter after each failure..."],
  ["mqtt.reconnectMaxMs", "...up to this. Reconnecting never gives up, also when the first connect fails."],
  ["time.trustForwarderGpsTime", "Use the forwarder's GPS time (rxpk tmms) as reception time when present."],
  [
    "time.trustForwarderHostTime",
    'Also use rxpk "time" without tmms (often the forwarder host\'s clock: risky).',
  ],
  [
    "time.minValidUnixS",
    "System clock before this (Unix s) = not synchronised (1970, old fake-hwclock time).",
  ],
  [
    "time.waitForNtpSync",
    "When systemd-timesyncd runs, also wait for its synchronised flag before trusting the clock.",
  ],
  ["time.checkIntervalS", "How often to re-check the system clock while it is not yet valid."],
  ["http.enabled", "Serve GET /metrics (Prometheus) and GET /health."],
  ["http.host", "Address for /metrics and /health; keep 127.0.0.1 unless a scraper on the LAN needs it."],
  ["http.port", "TCP port for /metrics and /health."],
  ["log.level", "fatal, error, warn, info, debug, trace or silent. JSON lines on stdout (journald)."],
  [
    "log.rateLimitIntervalS",
    "Per-packet problems: at most rateLimitBurst lines per reason in this interval...",
  ],
  ["log.rateLimitBurst", '...then one "suppressed N similar messages" line. Metrics count every one.'],
];

const TEMPLATE = {
  gatewayId: "mast-01",
  registry: { path: "/etc/openherz/devices.json" },
  journal: { path: "/var/lib/openherz/journal.sqlite", maxBytes: 268_435_456, maxAgeS: 2_592_000 },
  udp: { enabled: true, host: "127.0.0.1", port: 1700 },
  serial: [] as unknown[],
  mqtt: {
    url: "mqtts://broker.example.org:8883",
    username: "gateway-mast-01",
    password: { file: "/etc/openherz/mqtt-password" },
    topicPrefix: "openherz",
    observationGrouping: "uplink",
  },
  time: { trustForwarderGpsTime: true },
  http: { host: "127.0.0.1", port: 9700 },
  log: { level: "info" },
};

const SERIAL_EXAMPLE = [
  "{",
  '  "path": "/dev/serial/by-id/usb-Microchip_RN2483-if00",',
  '  "modem": "rn2483",',
  '  "rn2483": { "radioSettings": ["mod lora", "freq 868100000", "sf sf7", "bw 125", "crc on", "sync 34"] },',
  '  "frameRadio": { "frequencyMhz": 868.1, "dataRate": "SF7BW125" }',
  "}",
];

/** The JSON part of the template alone: valid once the password file exists. */
export function configTemplateJson(): string {
  return `${JSON.stringify(TEMPLATE, null, 2)}\n`;
}

/** The annotated listing ("#" lines: every field, its default and meaning) followed by the JSON template. */
export function configTemplate(): string {
  const defaults = defaultsByPath();
  const lines = [
    "# OpenHerz Sensornet gateway configuration, plain JSON (no comments): /etc/openherz/gateway.json",
    "# Every field below, with its default, then a JSON template. Save the JSON part with:",
    "#   sensornet gateway --print-config-template | grep -v '^#' > gateway.json",
    "# and check the result with: sensornet gateway --check-config --config gateway.json",
    "# Relative paths are relative to the config file's directory. Unknown fields are refused.",
    '# Secrets: any string field may be written as {"env": "NAME"} (an environment variable) or',
    '# {"file": "/etc/openherz/name"} (the file\'s content without its trailing newline; the file must be',
    "# readable by its owner only: chmod 600).",
    "#",
  ];
  for (const [path, doc] of FIELD_DOCS) {
    const d = defaults.get(path);
    const shown = d === undefined ? "optional" : d === null ? "required" : `default ${JSON.stringify(d)}`;
    lines.push(`# ${path}  (${shown})`, `#     ${doc}`);
  }
  lines.push(
    "#",
    '# A serial modem entry, for the "serial" list:',
    ...SERIAL_EXAMPLE.map((l) => `#   ${l}`),
    "#",
  );
  return `${lines.join("\n")}\n${configTemplateJson()}`;
}

/** Default of every documented path; null marks a required field. */
function defaultsByPath(): Map<string, unknown> {
  const minimal = { gatewayId: "x", mqtt: { url: "mqtt://x" }, serial: [{ path: "/x", modem: "rn2483" }] };
  const parsed = gatewayConfigSchema.parse(minimal) as Record<string, unknown>;
  const out = new Map<string, unknown>([
    ["gatewayId", null],
    ["mqtt.url", null],
    ["serial", []],
    ["serial[].path", null],
    ["serial[].modem", null],
    ["serial[].baudRate", undefined],
    ["mqtt.clientId", undefined],
  ]);
  for (const [path] of FIELD_DOCS) {
    if (out.has(path)) continue;
    const value = path
      .replace("[]", ".0")
      .split(".")
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], parsed);
    if (value !== undefined) out.set(path, value);
  }
  return out;
}
