import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { serializeRegistry } from "../../../../gateway/lorawan/registry-file.ts";
import {
  ConfigError,
  checkConfig,
  closest,
  configTemplate,
  configTemplateJson,
  DEFAULT_MIN_VALID_UNIX_S,
  loadConfig,
  parseConfig,
  redactedConfig,
  serialModemOptions,
  udpForwarderOptions,
} from "../../../../gateway/ops/config.ts";
import { SERIAL_DEFAULT_BAUD_RATE } from "../../../../gateway/ops/config-schema.ts";
import { FIELD_DOCS } from "../../../../gateway/ops/config-template.ts";
import { DEFAULT_BAUD_RATE } from "../../../../gateway/radio/serial-modem.ts";
import { testDevice } from "../lorawan/helpers.ts";

const MINIMAL = { gatewayId: "mast-01", mqtt: { url: "mqtts://broker.example.org:8883" } };
const SECRET = "s3cret-Passw0rd!";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "openherz-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  await chmod(path, mode);
  return path;
}

/** The issue lines of a config that must fail. */
function issuesOf(value: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(value, { env, baseDir: dir });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error("expected a ConfigError");
}

function withMqtt(mqtt: Record<string, unknown>, rest: Record<string, unknown> = {}) {
  return { ...MINIMAL, ...rest, mqtt: { ...MINIMAL.mqtt, ...mqtt } };
}

describe("config defaults", () => {
  it("fills every default from a minimal file", () => {
    const c = parseConfig(MINIMAL, { env: {}, baseDir: dir });
    expect(c).toEqual({
      gatewayId: "mast-01",
      registry: { path: "/etc/openherz/devices.json", watch: true, pollIntervalMs: 30_000 },
      journal: {
        path: "/var/lib/openherz/journal.sqlite",
        maxMessages: 1_000_000,
        maxBytes: 268_435_456,
        maxAgeS: 2_592_000,
        commitIntervalMs: 20,
        commitMaxEntries: 500,
        memoryCacheBytes: 8_388_608,
      },
      udp: {
        enabled: true,
        host: "0.0.0.0",
        port: 1700,
        maxDatagramBytes: 65_507,
        maxForwarders: 1000,
        maxPendingDatagrams: 1000,
      },
      serial: [],
      mqtt: {
        url: "mqtts://broker.example.org:8883",
        clientId: "openherz-mast-01",
        topicPrefix: "openherz",
        observationGrouping: "uplink",
        protocolVersion: 5,
        protocolFallback: true,
        keepaliveS: 60,
        connectTimeoutMs: 30_000,
        reconnectMinMs: 1000,
        reconnectMaxMs: 60_000,
      },
      time: {
        trustForwarderGpsTime: true,
        trustForwarderHostTime: false,
        minValidUnixS: DEFAULT_MIN_VALID_UNIX_S,
        waitForNtpSync: true,
        checkIntervalS: 5,
      },
      http: { enabled: true, host: "127.0.0.1", port: 9700 },
      log: { level: "info", rateLimitIntervalS: 60, rateLimitBurst: 5 },
    });
    expect(new Date(DEFAULT_MIN_VALID_UNIX_S * 1000).toISOString()).toBe("2026-01-01T00:00:00.000Z");
  });

  it("defaults a serial modem's baud rate per modem type, as the serial source does", () => {
    expect(SERIAL_DEFAULT_BAUD_RATE).toEqual(DEFAULT_BAUD_RATE);
    const c = parseConfig(
      {
        ...MINIMAL,
        serial: [
          { path: "/dev/ttyUSB0", modem: "rn2483" },
          { path: "/dev/ttyACM0", modem: "rak3172" },
        ],
      },
      { env: {} },
    );
    expect(c.serial.map((s) => s.baudRate)).toEqual([57_600, 115_200]);
    expect(c.serial[0]).toMatchObject({
      commandTimeoutMs: 2000,
      maxLineLength: 1024,
      reopenDelayMs: { initial: 500, max: 30_000 },
    });
  });

  it("keeps given values and normalises gateway EUIs", () => {
    const c = parseConfig(
      {
        ...MINIMAL,
        udp: { allowedGatewayEuis: ["AA-55-5A-00-00-00-00-00"], allowedSources: ["127.0.0.1"], port: 1800 },
      },
      { env: {} },
    );
    expect(c.udp).toMatchObject({
      allowedGatewayEuis: ["aa555a0000000000"],
      allowedSources: ["127.0.0.1"],
      port: 1800,
    });
  });

  it("mqtt.observationGrouping: one message per uplink and datastream unless set to observation", () => {
    const parse = (mqtt: Record<string, unknown>) =>
      parseConfig(withMqtt(mqtt), { env: {} }).mqtt.observationGrouping;
    expect(parse({})).toBe("uplink");
    expect(parse({ observationGrouping: "uplink" })).toBe("uplink");
    expect(parse({ observationGrouping: "observation" })).toBe("observation");
    for (const bad of ["batch", "Observation", "", 1, null]) {
      expect(issuesOf(withMqtt({ observationGrouping: bad })), String(bad)).toEqual([
        'mqtt.observationGrouping: expected "uplink" (one message per uplink and datastream) or "observation"',
      ]);
    }
  });

  it("resolves relative paths against the config file's directory", async () => {
    const path = await file(
      "gateway.json",
      JSON.stringify({
        ...MINIMAL,
        registry: { path: "devices.json" },
        journal: { path: "../j/journal.sqlite" },
      }),
    );
    const c = loadConfig(path, { env: {} });
    expect(c.registry.path).toBe(join(dir, "devices.json"));
    expect(c.journal.path).toBe(join(dir, "..", "j", "journal.sqlite"));
  });

  it("maps onto the radio sources' options", () => {
    const c = parseConfig(
      {
        ...MINIMAL,
        udp: { host: "127.0.0.1", allowedSources: ["10.0.0.2"] },
        time: { trustForwarderHostTime: true },
        serial: [{ path: "/dev/ttyUSB0", modem: "rn2483", rn2483: { querySnr: true } }],
      },
      { env: {} },
    );
    expect(udpForwarderOptions(c)).toEqual({
      host: "127.0.0.1",
      port: 1700,
      maxDatagramBytes: 65_507,
      maxForwarders: 1000,
      maxPendingDatagrams: 1000,
      trustForwarderTime: true,
      allowedSources: ["10.0.0.2"],
    });
    expect(serialModemOptions(c.serial[0]!)).toEqual({
      path: "/dev/ttyUSB0",
      modem: "rn2483",
      baudRate: 57_600,
      commandTimeoutMs: 2000,
      maxLineLength: 1024,
      reopenDelayMs: { initial: 500, max: 30_000 },
      rn2483: { querySnr: true },
    });
  });
});

describe("config validation messages", () => {
  const cases: Array<[string, unknown, string]> = [
    ["missing required fields", {}, "gatewayId: required"],
    ["missing mqtt", { gatewayId: "g" }, "mqtt: required"],
    ["missing mqtt.url", { gatewayId: "g", mqtt: {} }, "mqtt.url: required"],
    ["not an object", [], "(file): expected an object {gatewayId, mqtt, …}"],
    [
      "gatewayId charset",
      { ...MINIMAL, gatewayId: "mast/01" },
      "gatewayId: expected 1 to 64 of A-Z a-z 0-9 . _ -",
    ],
    ["section not an object", { ...MINIMAL, time: "utc" }, "time: expected an object"],
    ["boolean", { ...MINIMAL, udp: { enabled: "yes" } }, "udp.enabled: expected true or false"],
    ["integer range", { ...MINIMAL, udp: { port: 70_000 } }, "udp.port: expected an integer from 0 to 65535"],
    [
      "integer, not fraction",
      withMqtt({ keepaliveS: 1.5 }),
      "mqtt.keepaliveS: expected an integer from 5 to 65535",
    ],
    [
      "IP address",
      { ...MINIMAL, udp: { host: "localhost" } },
      'udp.host: expected an IP address such as "0.0.0.0"',
    ],
    [
      "EUI",
      { ...MINIMAL, udp: { allowedGatewayEuis: ["xyz"] } },
      "udp.allowedGatewayEuis[0]: expected a gateway EUI",
    ],
    [
      "empty allow-list",
      { ...MINIMAL, udp: { allowedSources: [] } },
      "udp.allowedSources: must not be empty; leave the field out to accept every address",
    ],
    ["serial not a list", { ...MINIMAL, serial: {} }, "serial: expected a list of serial modems"],
    ["serial path", { ...MINIMAL, serial: [{ modem: "rn2483" }] }, "serial[0].path: required"],
    [
      "modem",
      { ...MINIMAL, serial: [{ path: "/dev/x", modem: "sx1276" }] },
      'serial[0].modem: expected "rn2483" or "rak3172"',
    ],
    [
      "empty name",
      { ...MINIMAL, serial: [{ path: "/dev/x", modem: "rn2483", name: "" }] },
      "serial[0].name: must not be empty",
    ],
    [
      "control characters",
      { ...MINIMAL, serial: [{ path: "/dev/x\n", modem: "rn2483" }] },
      "serial[0].path: must not contain control characters",
    ],
    [
      "frequency in Hz",
      {
        ...MINIMAL,
        serial: [{ path: "/dev/x", modem: "rn2483", frameRadio: { frequencyMhz: 868_100_000 } }],
      },
      "serial[0].frameRadio.frequencyMhz: expected MHz, e.g. 868.1",
    ],
    ["mqtt scheme", withMqtt({ url: "tcp://broker:1883" }), "mqtt.url: must start with mqtt:// or mqtts://"],
    ["mqtt host", withMqtt({ url: "mqtt://" }), "mqtt.url: is not a valid URL with a host name"],
    [
      "topic wildcard",
      withMqtt({ topicPrefix: "city/#" }),
      "mqtt.topicPrefix: expected topic levels without wildcards",
    ],
    ["empty topic level", withMqtt({ topicPrefix: "city//x" }), "mqtt.topicPrefix: expected topic levels"],
    [
      "protocol version",
      withMqtt({ protocolVersion: 3 }),
      "mqtt.protocolVersion: expected 5 (MQTT 5) or 4 (MQTT 3.1.1)",
    ],
    ["log level", { ...MINIMAL, log: { level: "verbose" } }, "log.level: expected one of fatal, error, warn"],
    [
      "unknown field with hint",
      withMqtt({ pasword: "x" }),
      'mqtt.pasword: unknown field (did you mean "password"?)',
    ],
    [
      "unknown field, case",
      withMqtt({ ClientID: "x" }),
      'mqtt.ClientID: unknown field (did you mean "clientId"?)',
    ],
    ["unknown field without hint", withMqtt({ colour: "red" }), "mqtt.colour: unknown field"],
    ["unknown top-level field", { ...MINIMAL, loging: {} }, 'loging: unknown field (did you mean "log"?)'],
    [
      "unknown nested field",
      { ...MINIMAL, serial: [{ path: "/x", modem: "rn2483", reopenDelayMs: { initail: 1 } }] },
      'serial[0].reopenDelayMs.initail: unknown field (did you mean "initial"?)',
    ],
    [
      "password and passwordFile",
      withMqtt({ username: "u", password: "p", passwordFile: "/x" }),
      "mqtt.passwordFile: set either mqtt.password or mqtt.passwordFile, not both",
    ],
    ["password without user", withMqtt({ password: "p" }), "mqtt.username: required when a password is set"],
    ["cert without key", withMqtt({ cert: "/c.pem" }), "mqtt.key: required with mqtt.cert"],
    [
      "TLS on plain mqtt",
      withMqtt({ url: "mqtt://b", ca: "/ca.pem" }),
      "mqtt.ca: TLS files need an mqtts:// url",
    ],
    [
      "reconnect bounds",
      withMqtt({ reconnectMinMs: 5000, reconnectMaxMs: 1000 }),
      "mqtt.reconnectMaxMs: must be at least mqtt.reconnectMinMs (5000)",
    ],
    [
      "duplicate serial path",
      {
        ...MINIMAL,
        serial: [
          { path: "/x", modem: "rn2483" },
          { path: "/x", modem: "rak3172" },
        ],
      },
      "serial[1].path: /x is also serial[0].path",
    ],
    [
      "modem block for the other modem",
      { ...MINIMAL, serial: [{ path: "/x", modem: "rak3172", rn2483: {} }] },
      'serial[0].rn2483: only for "modem": "rn2483"',
    ],
    [
      "reopen delay bounds",
      { ...MINIMAL, serial: [{ path: "/x", modem: "rn2483", reopenDelayMs: { initial: 5000, max: 1000 } }] },
      "serial[0].reopenDelayMs.max: must be at least reopenDelayMs.initial (5000)",
    ],
    [
      "no radio input",
      { ...MINIMAL, udp: { enabled: false } },
      "udp.enabled: no radio input: enable udp or configure at least one serial modem",
    ],
  ];

  it.each(cases)("%s", (_name, value, expected) => {
    const issues = issuesOf(value);
    expect(
      issues.some((i) => i.startsWith(expected)),
      `${JSON.stringify(issues)} has ${expected}`,
    ).toBe(true);
  });

  it("reports every problem at once, one line each", () => {
    const issues = issuesOf({
      gatewayId: "",
      mqtt: { url: "http://x", keepaliveS: 0, pasword: "x" },
      udp: { prot: 1 },
    });
    expect(issues).toEqual([
      expect.stringMatching(/^gatewayId: /),
      'udp.prot: unknown field (did you mean "port"?)',
      "mqtt.url: must start with mqtt:// or mqtts://",
      "mqtt.keepaliveS: expected an integer from 5 to 65535",
      'mqtt.pasword: unknown field (did you mean "password"?)',
    ]);
    const err = (() => {
      try {
        parseConfig({}, { env: {} }, "/etc/openherz/gateway.json");
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.message).toBe(
      "/etc/openherz/gateway.json: 2 problems in the gateway config:\n  gatewayId: required\n  mqtt: required",
    );
  });

  it("reports a file that is not JSON, with a hint about comments", async () => {
    const path = await file("gateway.json", '{\n  // the gateway\n  "gatewayId": "g"\n}\n');
    expect(() => loadConfig(path)).toThrow(/\(file\): not valid JSON: .*; comments are not allowed in JSON/);
    expect(() => loadConfig(join(dir, "missing.json"))).toThrow(
      /\(file\): cannot read .*missing\.json: no such file/,
    );
  });

  it("suggests close names only", () => {
    expect(closest("pasword", ["password", "username"])).toBe("password");
    expect(closest("keepalive", ["keepaliveS"])).toBe("keepaliveS");
    expect(closest("colour", ["url", "password"])).toBeUndefined();
  });
});

describe("config secrets", () => {
  it("reads a string field from an environment variable", () => {
    const c = parseConfig(withMqtt({ username: "u", password: { env: "MQTT_PASSWORD" } }), {
      env: { MQTT_PASSWORD: SECRET },
    });
    expect(c.mqtt.password).toBe(SECRET);
  });

  it("reads any string field from a private file, without the trailing newline", async () => {
    await file("user", "gateway-7\n");
    await file("url", "mqtts://broker.internal:8883\r\n");
    const c = parseConfig(withMqtt({ url: { file: "url" }, username: { file: join(dir, "user") } }), {
      env: {},
      baseDir: dir,
    });
    expect(c.mqtt.username).toBe("gateway-7");
    expect(c.mqtt.url).toBe("mqtts://broker.internal:8883");
  });

  it("reads mqtt.passwordFile into mqtt.password", async () => {
    const path = await file("mqtt-password", `${SECRET}\n`);
    const c = parseConfig(withMqtt({ username: "u", passwordFile: path }), { env: {} });
    expect(c.mqtt.password).toBe(SECRET);
    expect(c.mqtt.passwordFile).toBe(path);
    expect(redactedConfig(c).mqtt.password).toBe("[redacted]");
    expect(JSON.stringify(redactedConfig(c))).not.toContain(SECRET);
  });

  it("names what is wrong with a reference", async () => {
    await file("empty", "\n");
    const issues = issuesOf(
      withMqtt({
        username: { env: "MQTT_USER" },
        password: { env: "EMPTY" },
        clientId: { env: "not a name" },
        topicPrefix: { env: "X", file: "/y" },
        ca: { file: join(dir, "nope") },
        cert: { file: join(dir, "empty") },
      }),
      { EMPTY: "" },
    );
    expect(issues).toEqual([
      "mqtt.username: environment variable MQTT_USER is not set",
      "mqtt.password: environment variable EMPTY is empty",
      'mqtt.clientId: {"env": …} needs the name of an environment variable, e.g. "MQTT_PASSWORD"',
      'mqtt.topicPrefix: expected {"env": "NAME"} or {"file": "/path"}, not both',
      `mqtt.ca: cannot read ${join(dir, "nope")}: no such file`,
      `mqtt.cert: secret file ${join(dir, "empty")} is empty`,
    ]);
  });

  it("refuses a secret file readable by group or others, with the chmod to run", async () => {
    const path = await file("mqtt-password", SECRET, 0o644);
    const issues = issuesOf(withMqtt({ username: "u", password: { file: path } }));
    expect(issues).toEqual([
      `mqtt.password: ${path} is readable by group or others (mode 0644) and holds a secret; fix with: chmod 600 ${path}`,
    ]);
    await chmod(path, 0o640);
    expect(issuesOf(withMqtt({ username: "u", passwordFile: path }))).toEqual([
      `mqtt.passwordFile: ${path} is readable by group or others (mode 0640) and holds a secret; fix with: chmod 600 ${path}`,
    ]);
  });

  it("refuses a TLS private key readable by group or others", async () => {
    const cert = await file("cert.pem", "-----BEGIN CERTIFICATE-----\n", 0o644);
    const key = await file("key.pem", "-----BEGIN PRIVATE KEY-----\n", 0o604);
    expect(issuesOf(withMqtt({ cert, key }))).toEqual([
      `mqtt.key: ${key} is readable by group or others (mode 0604) and holds a secret; fix with: chmod 600 ${key}`,
    ]);
    await chmod(key, 0o600);
    expect(parseConfig(withMqtt({ cert, key }), { env: {} }).mqtt.key).toBe(key);
  });

  it("refuses a password written into a config file readable by group or others", async () => {
    const path = await file(
      "gateway.json",
      JSON.stringify(withMqtt({ username: "u", password: SECRET })),
      0o644,
    );
    expect(() => loadConfig(path, { env: {} })).toThrow(
      `mqtt.password: written into the config, but ${path} is readable by group or others (mode 0644) and holds a secret; fix with: chmod 600 ${path}; or use {"file": …} or {"env": …} for it`,
    );
    await chmod(path, 0o600);
    expect(loadConfig(path, { env: {} }).mqtt.password).toBe(SECRET);
    await writeFile(path, JSON.stringify(withMqtt({ username: "u", password: { env: "P" } })));
    await chmod(path, 0o644);
    expect(loadConfig(path, { env: { P: SECRET } }).mqtt.password).toBe(SECRET);
  });

  it("never puts a secret value into an error message", async () => {
    const path = await file("mqtt-password", SECRET);
    const issues = issuesOf(
      withMqtt({ password: { file: path }, keepaliveS: { env: "K" }, url: { env: "URL" } }),
      { K: SECRET, URL: SECRET },
    );
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.join("\n")).not.toContain(SECRET);
  });
});

describe("checkConfig", () => {
  async function setup(overrides: Record<string, unknown> = {}) {
    const registry = await file(
      "devices.json",
      serializeRegistry({ version: 1, devices: [testDevice() as never] }),
    );
    await mkdir(join(dir, "var"));
    const config = {
      ...MINIMAL,
      registry: { path: "devices.json" },
      journal: { path: "var/journal.sqlite" },
      ...overrides,
    };
    const path = await file("gateway.json", JSON.stringify(config), 0o600);
    return { path, registry };
  }

  it("finds nothing wrong with a complete setup", async () => {
    await file("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0o644);
    await file("client.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0o644);
    await file("client.key", "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n");
    const { path } = await setup({
      mqtt: { ...MINIMAL.mqtt, ca: "ca.pem", cert: "client.pem", key: "client.key" },
    });
    expect(checkConfig(path, { env: {} })).toEqual([]);
  });

  it("returns the validation problems", async () => {
    const { path } = await setup({ mqtt: { url: "http://x" } });
    expect(checkConfig(path, { env: {} })).toEqual(["mqtt.url: must start with mqtt:// or mqtts://"]);
  });

  it("checks the registry: present, private, valid", async () => {
    const { path, registry } = await setup();
    await chmod(registry, 0o644);
    expect(checkConfig(path, { env: {} })).toEqual([
      `registry.path: ${registry} is readable by group or others (mode 0644) and holds session keys; fix with: chmod 600 ${registry}`,
    ]);
    await writeFile(registry, '{"version": 1, "devices": [{"devEui": "x"}]}');
    await chmod(registry, 0o600);
    expect(checkConfig(path, { env: {} })[0]).toMatch(
      /^registry\.path: .*devices\[0\]\.devEui: expected 16 hex characters/,
    );
    await rm(registry);
    expect(checkConfig(path, { env: {} })).toEqual([`registry.path: cannot read ${registry}: no such file`]);
  });

  it("checks TLS files and the journal directory", async () => {
    await file("ca.pem", "not a certificate", 0o644);
    const { path } = await setup({
      mqtt: { ...MINIMAL.mqtt, ca: "ca.pem", cert: "missing.pem", key: "missing.key" },
      journal: { path: "nodir/journal.sqlite" },
    });
    const expected = [
      `mqtt.ca: ${join(dir, "ca.pem")} does not look like a PEM file (no "-----BEGIN CERTIFICATE-----")`,
      `mqtt.cert: cannot read ${join(dir, "missing.pem")}: no such file`,
      `journal.path: directory ${join(dir, "nodir")}: no such file (the journal needs to create files there)`,
    ];
    expect(checkConfig(path, { env: {} })).toEqual([
      `mqtt.key: cannot read ${join(dir, "missing.key")}: no such file`,
      ...expected,
    ]);
    await file("missing.key", "-----BEGIN PRIVATE KEY-----\n");
    expect(checkConfig(path, { env: {} })).toEqual(expected);
  });
});

describe("config template", () => {
  it("explains every field of the schema", () => {
    const full = parseConfig(
      {
        ...MINIMAL,
        mqtt: { ...MINIMAL.mqtt, username: "u", password: "p", clientId: "c" },
        udp: { allowedGatewayEuis: ["0000000000000001"], allowedSources: ["::1"] },
        serial: [
          {
            path: "/x",
            modem: "rn2483",
            name: "n",
            rn2483: { radioSettings: [], querySnr: true, queryRssi: true },
            frameRadio: { frequencyMhz: 868.1, dataRate: "SF7BW125" },
          },
          { path: "/y", modem: "rak3172", rak3172: { setup: [], receiveCommand: "AT+PRECV=65534" } },
        ],
      },
      { env: {} },
    );
    const leaves = new Set<string>();
    const walk = (node: unknown, path: string) => {
      if (node !== null && typeof node === "object" && !Array.isArray(node)) {
        for (const [k, v] of Object.entries(node)) walk(v, path === "" ? k : `${path}.${k}`);
      } else if (Array.isArray(node) && path === "serial") {
        leaves.add("serial");
        for (const item of node) walk(item, "serial[]");
      } else {
        leaves.add(path);
      }
    };
    walk(full, "");
    leaves.add("mqtt.passwordFile").add("mqtt.ca").add("mqtt.cert").add("mqtt.key");
    const documented = new Set(FIELD_DOCS.map(([p]) => p));
    expect([...leaves].filter((l) => !documented.has(l))).toEqual([]);
    expect([...documented].filter((d) => !leaves.has(d))).toEqual([]);
    const template = configTemplate();
    for (const [path] of FIELD_DOCS) expect(template).toContain(`# ${path}  (`);
  });

  it("is '#' lines followed by JSON that is a valid config once its password file exists", async () => {
    const template = configTemplate();
    const lines = template.split("\n");
    const jsonStart = lines.findIndex((l) => !l.startsWith("#"));
    expect(lines.slice(0, jsonStart).every((l) => l.startsWith("#"))).toBe(true);
    const json = lines.slice(jsonStart).join("\n");
    expect(json).toBe(configTemplateJson());
    // What `grep -v '^#'` leaves is the JSON alone.
    expect(lines.filter((l) => !l.startsWith("#")).join("\n")).toBe(json);

    const passwordFile = await file("mqtt-password", `${SECRET}\n`);
    const filled = json.replace("/etc/openherz/mqtt-password", passwordFile);
    const c = parseConfig(JSON.parse(filled), { env: {} });
    expect(c).toMatchObject({
      gatewayId: "mast-01",
      mqtt: { password: SECRET, url: "mqtts://broker.example.org:8883" },
    });
  });

  it("has a serial example that is a valid serial entry", () => {
    const lines = configTemplate().split("\n");
    const start = lines.findIndex((l) => l.includes("A serial modem entry")) + 1;
    const end = lines.indexOf("#   }", start) + 1;
    const example = JSON.parse(
      lines
        .slice(start, end)
        .map((l) => l.slice(4))
        .join("\n"),
    );
    const c = parseConfig({ ...MINIMAL, serial: [example] }, { env: {} });
    expect(c.serial[0]).toMatchObject({ modem: "rn2483", baudRate: 57_600 });
  });
});
