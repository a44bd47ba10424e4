// The gateway's one config schema with its typed defaults. Loading, secrets and checks: ./config.ts; the
// annotated template: ./config-template.ts. Keep the three in step: a test asserts that every field here is
// documented in the template.
import { isIP } from "node:net";
import { z } from "zod";
import { OBSERVATION_GROUPINGS } from "../observations/envelope.ts";

/** 2026-01-01T00:00:00Z: a clock before this is an unsynchronised Pi (1970, or an old fake-hwclock time). */
export const DEFAULT_MIN_VALID_UNIX_S = 1_767_225_600;

/** Same values as DEFAULT_BAUD_RATE in ../radio/serial-modem.ts, kept here so that loading a config does not
 * load serialport's native binding (a test compares the two). */
export const SERIAL_DEFAULT_BAUD_RATE = { rn2483: 57_600, rak3172: 115_200 } as const;

export const MODEMS = ["rn2483", "rak3172"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

type Issue = { code?: string; input?: unknown };
const orRequired = (expected: string) => (issue: Issue) =>
  issue.input === undefined ? "required" : expected;

const object = <S extends z.core.$ZodLooseShape>(shape: S, what: string) =>
  z.strictObject(shape, { error: orRequired(`expected an object ${what}`) });

const bool = () => z.boolean({ error: orRequired("expected true or false") });

const int = (min: number, max: number) => {
  const range = `expected an integer from ${min} to ${max}`;
  return z
    .number({ error: orRequired(range) })
    .int({ error: range })
    .min(min, { error: range })
    .max(max, { error: range });
};

const text = (max: number) =>
  z
    .string({ error: orRequired("expected a string") })
    .min(1, { error: "must not be empty" })
    .max(max, { error: `at most ${max} characters` })
    .regex(/^[^\p{Cc}]*$/u, { error: "must not contain control characters" });

const filePath = () => text(4096);

const ipAddress = () =>
  z
    .string({ error: orRequired("expected an IP address") })
    .refine((s) => isIP(s) !== 0, { error: 'expected an IP address such as "0.0.0.0", "127.0.0.1" or "::"' });

const eui = () =>
  z
    .string({ error: orRequired("expected a gateway EUI (16 hex digits)") })
    .transform((s) => s.replace(/[:\-\s]/g, "").toLowerCase())
    .refine((s) => /^[0-9a-f]{16}$/.test(s), { error: "expected a gateway EUI (16 hex digits)" });

const nonEmptyList = <T extends z.ZodType>(item: T, omitHint: string) =>
  z.array(item, { error: orRequired("expected a list") }).min(1, { error: `must not be empty; ${omitHint}` });

const hasHost = (url: string) => URL.canParse(url) && new URL(url).hostname !== "";

const MQTT_TOPIC_LEVELS = /^[^#+/\p{Cc}]+(?:\/[^#+/\p{Cc}]+)*$/u;

const registrySchema = object(
  {
    path: filePath().default("/etc/openherz/devices.json"),
    watch: bool().default(true),
    pollIntervalMs: int(0, 86_400_000).default(30_000),
  },
  "{path, watch, pollIntervalMs}",
);

const journalSchema = object(
  {
    path: filePath().default("/var/lib/openherz/journal.sqlite"),
    maxMessages: int(1, 1_000_000_000).default(1_000_000),
    maxBytes: int(1, 2 ** 40).default(256 * 1024 * 1024),
    maxAgeS: int(1, 10 * 366 * 86_400).default(30 * 86_400),
    commitIntervalMs: int(0, 60_000).default(20),
    commitMaxEntries: int(1, 1_000_000).default(500),
    memoryCacheBytes: int(0, 2 ** 30).default(8 * 1024 * 1024),
  },
  "{path, maxMessages, maxBytes, maxAgeS, commitIntervalMs, commitMaxEntries, memoryCacheBytes}",
);

const udpSchema = object(
  {
    enabled: bool().default(true),
    host: ipAddress().default("0.0.0.0"),
    port: int(0, 65_535).default(1700),
    allowedGatewayEuis: nonEmptyList(eui(), "leave the field out to accept every gateway").optional(),
    allowedSources: nonEmptyList(ipAddress(), "leave the field out to accept every address").optional(),
    maxDatagramBytes: int(12, 65_507).default(65_507),
    maxForwarders: int(1, 100_000).default(1000),
    maxPendingDatagrams: int(1, 1_000_000).default(1000),
  },
  "{enabled, host, port, …}",
);

const serialSchema = object(
  {
    path: filePath(),
    modem: z.enum(MODEMS, { error: orRequired(`expected ${MODEMS.map((m) => `"${m}"`).join(" or ")}`) }),
    baudRate: int(1200, 4_000_000).optional(),
    name: text(64).optional(),
    commandTimeoutMs: int(100, 600_000).default(2000),
    maxLineLength: int(64, 1_048_576).default(1024),
    reopenDelayMs: object(
      { initial: int(10, 3_600_000).default(500), max: int(10, 3_600_000).default(30_000) },
      "{initial, max}",
    ).prefault({}),
    rn2483: object(
      {
        radioSettings: z.array(text(200), { error: orRequired("expected a list of strings") }).optional(),
        querySnr: bool().optional(),
        queryRssi: bool().optional(),
      },
      "{radioSettings, querySnr, queryRssi}",
    ).optional(),
    rak3172: object(
      {
        setup: z.array(text(200), { error: orRequired("expected a list of strings") }).optional(),
        receiveCommand: text(200).optional(),
      },
      "{setup, receiveCommand}",
    ).optional(),
    frameRadio: object(
      {
        frequencyMhz: z
          .number({ error: orRequired("expected a number (MHz)") })
          .min(100, { error: "expected MHz, e.g. 868.1" })
          .max(3000, { error: "expected MHz, e.g. 868.1" })
          .optional(),
        dataRate: text(32).optional(),
      },
      "{frequencyMhz, dataRate}",
    ).optional(),
  },
  '{path, modem, …} such as {"path": "/dev/ttyUSB0", "modem": "rn2483"}',
).transform((s) => ({ ...s, baudRate: s.baudRate ?? SERIAL_DEFAULT_BAUD_RATE[s.modem] }));

const mqttSchema = object(
  {
    url: z
      .string({ error: orRequired("expected a URL such as mqtts://broker.example.org:8883") })
      .refine((s) => /^mqtts?:\/\//.test(s), { error: "must start with mqtt:// or mqtts://" })
      .refine((s) => !/^mqtts?:\/\//.test(s) || hasHost(s), {
        error: "is not a valid URL with a host name (expected mqtts://host:port)",
      }),
    clientId: text(128).optional(),
    username: text(256).optional(),
    password: z
      .string({ error: orRequired("expected a string") })
      .min(1, { error: "must not be empty" })
      .optional(),
    passwordFile: filePath().optional(),
    ca: filePath().optional(),
    cert: filePath().optional(),
    key: filePath().optional(),
    topicPrefix: z
      .string({ error: orRequired("expected a string") })
      .regex(MQTT_TOPIC_LEVELS, {
        error: 'expected topic levels without wildcards or empty levels, e.g. "openherz" or "city/sensors"',
      })
      .default("openherz"),
    observationGrouping: z
      .enum(OBSERVATION_GROUPINGS, {
        error: orRequired('expected "uplink" (one message per uplink and datastream) or "observation"'),
      })
      .default("uplink"),
    protocolVersion: z
      .literal([5, 4], { error: orRequired("expected 5 (MQTT 5) or 4 (MQTT 3.1.1)") })
      .default(5),
    protocolFallback: bool().default(true),
    keepaliveS: int(5, 65_535).default(60),
    connectTimeoutMs: int(1000, 600_000).default(30_000),
    reconnectMinMs: int(100, 3_600_000).default(1000),
    reconnectMaxMs: int(100, 3_600_000).default(60_000),
  },
  '{url, …} such as {"url": "mqtts://broker.example.org:8883"}',
);

const timeSchema = object(
  {
    trustForwarderGpsTime: bool().default(true),
    trustForwarderHostTime: bool().default(false),
    minValidUnixS: int(0, 2 ** 32).default(DEFAULT_MIN_VALID_UNIX_S),
    waitForNtpSync: bool().default(true),
    checkIntervalS: int(1, 3600).default(5),
  },
  "{trustForwarderGpsTime, minValidUnixS, …}",
);

const httpSchema = object(
  {
    enabled: bool().default(true),
    host: ipAddress().default("127.0.0.1"),
    port: int(0, 65_535).default(9700),
  },
  "{enabled, host, port}",
);

const logSchema = object(
  {
    level: z
      .enum(LOG_LEVELS, { error: orRequired(`expected one of ${LOG_LEVELS.join(", ")}`) })
      .default("info"),
    rateLimitIntervalS: int(1, 86_400).default(60),
    rateLimitBurst: int(1, 10_000).default(5),
  },
  "{level, rateLimitIntervalS, rateLimitBurst}",
);

export const gatewayConfigSchema = object(
  {
    gatewayId: z
      .string({ error: orRequired('expected a string such as "mast-01"') })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
        error:
          "expected 1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit); it is part of MQTT topics",
      }),
    registry: registrySchema.prefault({}),
    journal: journalSchema.prefault({}),
    udp: udpSchema.prefault({}),
    serial: z.array(serialSchema, { error: orRequired("expected a list of serial modems") }).default([]),
    mqtt: mqttSchema,
    time: timeSchema.prefault({}),
    http: httpSchema.prefault({}),
    log: logSchema.prefault({}),
  },
  "{gatewayId, mqtt, …}",
);

type Parsed = z.output<typeof gatewayConfigSchema>;
/** The validated config: defaults filled, secrets resolved, relative paths made absolute. */
export type GatewayConfig = Omit<Parsed, "mqtt"> & { mqtt: Parsed["mqtt"] & { clientId: string } };
export type MqttConfig = GatewayConfig["mqtt"];
export type SerialConfig = GatewayConfig["serial"][number];
export type JournalConfig = GatewayConfig["journal"];
export type UdpConfig = GatewayConfig["udp"];
export type TimeConfig = GatewayConfig["time"];
export type HttpConfig = GatewayConfig["http"];
export type LogConfig = GatewayConfig["log"];
/** What may be written in the file (before defaults). */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

/** The object keys the schema accepts at a path (["mqtt"], ["serial", 0, "reopenDelayMs"]), for hints. */
export function knownKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  let schema: unknown = gatewayConfigSchema;
  for (const part of path) {
    schema = unwrap(schema);
    if (typeof part === "number") {
      schema = schema instanceof z.ZodArray ? schema.element : undefined;
    } else {
      schema =
        schema instanceof z.ZodObject ? (schema.shape as Record<string, unknown>)[String(part)] : undefined;
    }
    if (schema === undefined) return undefined;
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

function unwrap(schema: unknown): unknown {
  let s = schema as { _zod?: { def: { innerType?: unknown; in?: unknown } } } | undefined;
  for (let i = 0; i < 10 && s?._zod; i++) {
    const def = s._zod.def;
    const inner = def.innerType ?? def.in;
    if (inner === undefined) break;
    s = inner as typeof s;
  }
  return s;
}
