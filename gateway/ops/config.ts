// Loading and checking the gateway config file (plain JSON; why JSON: ./README.md). The schema and its
// defaults: ./config-schema.ts. Every problem is reported at once, one line each, with the field path:
//   mqtt.url: must start with mqtt:// or mqtts://
//   mqtt.pasword: unknown field (did you mean "password"?)
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { z } from "zod";
import { parseRegistry, RegistryError } from "../lorawan/registry.ts";
import type { SerialModemOptions } from "../radio/serial-modem.ts";
import type { UdpForwarderOptions } from "../radio/udp-forwarder.ts";
import { type GatewayConfig, gatewayConfigSchema, knownKeysAt, type SerialConfig } from "./config-schema.ts";
import {
  errnoText,
  type FieldIssue,
  readSecretFile,
  resolvePath,
  resolveSecretRefs,
  secretFileProblem,
} from "./secrets.ts";

export type { GatewayConfig, GatewayConfigInput, MqttConfig, SerialConfig } from "./config-schema.ts";
export { DEFAULT_MIN_VALID_UNIX_S, gatewayConfigSchema } from "./config-schema.ts";
export { configTemplate, configTemplateJson } from "./config-template.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface ParseConfigOptions {
  /** Where {"env": …} references are looked up. Default process.env. */
  env?: Env;
  /** Relative paths (registry, journal, TLS files, secret files) are resolved against it. Default cwd. */
  baseDir?: string;
}

/** The config file cannot be used. `issues` holds one line per problem ("mqtt.url: must start with …"). */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly file: string,
    readonly issues: readonly string[],
  ) {
    super(
      `${file}: ${issues.length === 1 ? "1 problem" : `${issues.length} problems`} in the gateway config:\n` +
        issues.map((i) => `  ${i}`).join("\n"),
    );
  }
}

/** Validates an already parsed JSON value; throws ConfigError listing every problem. */
export function parseConfig(
  value: unknown,
  options: ParseConfigOptions = {},
  source = "config",
): GatewayConfig {
  const result = validate(value, options);
  if (result.config === undefined || result.issues.length > 0) throw new ConfigError(source, result.issues);
  return result.config;
}

/** Reads, validates and resolves the config file; throws ConfigError listing every problem. */
export function loadConfig(path: string, options: Omit<ParseConfigOptions, "baseDir"> = {}): GatewayConfig {
  const result = validateFile(path, options);
  if (result.config === undefined || result.issues.length > 0) throw new ConfigError(path, result.issues);
  return result.config;
}

/**
 * Everything `loadConfig` checks, plus the files the gateway will open: the registry (readable, private,
 * valid), the TLS files, and the journal's directory. Returns the problems, [] when all is well. Run it as
 * the service user (`sudo -u openherz …`): readability depends on who asks.
 */
export function checkConfig(path: string, options: Omit<ParseConfigOptions, "baseDir"> = {}): string[] {
  let result: Validation;
  try {
    result = validateFile(path, options);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  const { config, issues } = result;
  if (config === undefined) return issues;
  const problems = [...issues];
  const add = (field: string, problem: string | undefined) => {
    if (problem !== undefined && !problems.some((p) => p.startsWith(`${field}: `))) {
      problems.push(`${field}: ${problem}`);
    }
  };
  add("registry.path", registryProblem(config.registry.path));
  const { ca, cert, key } = config.mqtt;
  if (ca !== undefined) add("mqtt.ca", pemProblem(ca, "CERTIFICATE"));
  if (cert !== undefined) add("mqtt.cert", pemProblem(cert, "CERTIFICATE"));
  // mqtt.key's permissions were checked with the other issues; here its content.
  if (key !== undefined) add("mqtt.key", pemProblem(key, "PRIVATE KEY"));
  add("journal.path", journalProblem(config.journal.path));
  return problems;
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, [`(file): cannot read ${path}: ${errnoText(err)}`]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's message carries the position ("… in JSON at position 120 (line 6 column 3)").
    const hint = /(^|\n)\s*(\/\/|#)/.test(text) ? "; comments are not allowed in JSON" : "";
    throw new ConfigError(path, [`(file): not valid JSON: ${(err as Error).message}${hint}`]);
  }
}

function validateFile(path: string, options: Omit<ParseConfigOptions, "baseDir">): Validation {
  const raw = readJson(path);
  const result = validate(raw, { ...options, baseDir: dirname(resolve(path)) });
  // A password written into the config itself makes the config a secret file.
  const literal = (raw as { mqtt?: { password?: unknown } } | null)?.mqtt?.password;
  if (typeof literal === "string") {
    const problem = secretFileProblem(path);
    if (problem !== undefined) {
      result.issues.push(
        `mqtt.password: written into the config, but ${problem}; or use {"file": …} or {"env": …} for it`,
      );
    }
  }
  return result;
}

/** `config` is set when the schema accepted the file, even if later checks found problems. */
type Validation = { config: GatewayConfig | undefined; issues: string[] };

function validate(value: unknown, options: ParseConfigOptions): Validation {
  const baseDir = options.baseDir ?? process.cwd();
  const secrets = resolveSecretRefs(value, options.env ?? process.env, baseDir);
  const issues: FieldIssue[] = [...secrets.issues];
  const parsed = gatewayConfigSchema.safeParse(secrets.value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      for (const line of zodIssueLines(issue)) {
        // A secret that could not be resolved was already reported; do not add "required" for it.
        if (!secrets.issues.some((i) => i.path === line.path)) issues.push(line);
      }
    }
    return { config: undefined, issues: issues.map(formatIssue) };
  }
  if (issues.length > 0) return { config: undefined, issues: issues.map(formatIssue) };

  const config = finish(parsed.data, baseDir);
  const more = [...crossFieldIssues(config), ...fileIssues(config)];
  return { config, issues: more.map(formatIssue) };
}

/** Derived defaults and absolute paths. */
function finish(data: z.output<typeof gatewayConfigSchema>, baseDir: string): GatewayConfig {
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolvePath(baseDir, p));
  const { mqtt } = data;
  return {
    ...data,
    registry: { ...data.registry, path: resolvePath(baseDir, data.registry.path) },
    journal: { ...data.journal, path: resolvePath(baseDir, data.journal.path) },
    mqtt: {
      ...mqtt,
      clientId: mqtt.clientId ?? `openherz-${data.gatewayId}`,
      ...(mqtt.passwordFile !== undefined && { passwordFile: abs(mqtt.passwordFile) }),
      ...(mqtt.ca !== undefined && { ca: abs(mqtt.ca) }),
      ...(mqtt.cert !== undefined && { cert: abs(mqtt.cert) }),
      ...(mqtt.key !== undefined && { key: abs(mqtt.key) }),
    },
  };
}

function crossFieldIssues(c: GatewayConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const { mqtt } = c;
  if (mqtt.password !== undefined && mqtt.passwordFile !== undefined) {
    add("mqtt.passwordFile", "set either mqtt.password or mqtt.passwordFile, not both");
  }
  if ((mqtt.password !== undefined || mqtt.passwordFile !== undefined) && mqtt.username === undefined) {
    add(
      "mqtt.username",
      "required when a password is set (MQTT 3.1.1 allows no password without a user name)",
    );
  }
  if (mqtt.cert !== undefined && mqtt.key === undefined) add("mqtt.key", "required with mqtt.cert");
  if (mqtt.key !== undefined && mqtt.cert === undefined) add("mqtt.cert", "required with mqtt.key");
  if (mqtt.url.startsWith("mqtt://")) {
    for (const field of ["ca", "cert", "key"] as const) {
      if (mqtt[field] !== undefined) add(`mqtt.${field}`, "TLS files need an mqtts:// url");
    }
  }
  if (mqtt.reconnectMinMs > mqtt.reconnectMaxMs) {
    add("mqtt.reconnectMaxMs", `must be at least mqtt.reconnectMinMs (${mqtt.reconnectMinMs})`);
  }
  const seen = new Map<string, number>();
  c.serial.forEach((s, i) => {
    const first = seen.get(s.path);
    if (first !== undefined) add(`serial[${i}].path`, `${s.path} is also serial[${first}].path`);
    else seen.set(s.path, i);
    if (s.rn2483 !== undefined && s.modem !== "rn2483")
      add(`serial[${i}].rn2483`, 'only for "modem": "rn2483"');
    if (s.rak3172 !== undefined && s.modem !== "rak3172") {
      add(`serial[${i}].rak3172`, 'only for "modem": "rak3172"');
    }
    if (s.reopenDelayMs.initial > s.reopenDelayMs.max) {
      add(
        `serial[${i}].reopenDelayMs.max`,
        `must be at least reopenDelayMs.initial (${s.reopenDelayMs.initial})`,
      );
    }
  });
  if (!c.udp.enabled && c.serial.length === 0) {
    add("udp.enabled", "no radio input: enable udp or configure at least one serial modem");
  }
  return issues;
}

/** Files loadConfig must look at: the password file (read into mqtt.password) and the private key's mode. */
function fileIssues(c: GatewayConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (c.mqtt.passwordFile !== undefined && c.mqtt.password === undefined) {
    const read = readSecretFile(c.mqtt.passwordFile);
    if (typeof read === "string") {
      const password = read.replace(/\r?\n$/, "");
      if (password === "")
        issues.push({ path: "mqtt.passwordFile", message: `${c.mqtt.passwordFile} is empty` });
      else c.mqtt.password = password;
    } else {
      issues.push({ path: "mqtt.passwordFile", message: read.problem });
    }
  }
  if (c.mqtt.key !== undefined) {
    const problem = secretFileProblem(c.mqtt.key);
    if (problem !== undefined) issues.push({ path: "mqtt.key", message: problem });
  }
  return issues;
}

function registryProblem(path: string): string | undefined {
  let text: string;
  const problem = secretFileProblem(path);
  if (problem !== undefined) return problem.replace("holds a secret", "holds session keys");
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return `cannot read ${path}: ${errnoText(err)}`;
  }
  try {
    parseRegistry(text, path);
  } catch (err) {
    if (err instanceof RegistryError) return err.message;
    throw err;
  }
  return undefined;
}

function pemProblem(path: string, label: "CERTIFICATE" | "PRIVATE KEY"): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return `cannot read ${path}: ${errnoText(err)}`;
  }
  const ok = label === "CERTIFICATE" ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
  return ok.test(text) ? undefined : `${path} does not look like a PEM file (no "-----BEGIN ${label}-----")`;
}

function journalProblem(path: string): string | undefined {
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
    accessSync(dir, constants.W_OK);
  } catch (err) {
    return `directory ${dir}: ${errnoText(err)} (the journal needs to create files there)`;
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") return `${path}: ${errnoText(err)}`;
  }
  return undefined;
}

function zodIssueLines(issue: z.core.$ZodIssue): FieldIssue[] {
  const base = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(issue.path) ?? [];
    return issue.keys.map((key) => {
      const hint = closest(key, known);
      return {
        path: base === "" ? key : `${base}.${key}`,
        message: `unknown field${hint === undefined ? "" : ` (did you mean "${hint}"?)`}`,
      };
    });
  }
  return [{ path: base, message: issue.message }];
}

function formatIssue(issue: FieldIssue): string {
  return `${issue.path === "" ? "(file)" : issue.path}: ${issue.message}`;
}

/** ["serial", 0, "path"] → serial[0].path */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The known key closest to `key` (case-insensitive edit distance ≤ 2 or ≤ a third of its length), or a prefix. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const k = key.toLowerCase();
  for (const candidate of known) {
    const d = editDistance(k, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(key.length / 3));
  if (bestDistance <= limit) return best;
  // "loging" → "log", "mq" → "mqtt": one is the start of the other.
  return known.find((c) => {
    const lc = c.toLowerCase();
    return Math.min(lc.length, k.length) >= 2 && (lc.startsWith(k) || k.startsWith(lc));
  });
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** What the UdpForwarder is constructed with (logger and callbacks are added by main). */
export function udpForwarderOptions(config: GatewayConfig): UdpForwarderOptions {
  const { udp } = config;
  return {
    host: udp.host,
    port: udp.port,
    maxDatagramBytes: udp.maxDatagramBytes,
    maxForwarders: udp.maxForwarders,
    maxPendingDatagrams: udp.maxPendingDatagrams,
    trustForwarderTime: config.time.trustForwarderHostTime,
    ...(udp.allowedGatewayEuis !== undefined && { allowedGatewayEuis: udp.allowedGatewayEuis }),
    ...(udp.allowedSources !== undefined && { allowedSources: udp.allowedSources }),
  };
}

/** What a SerialModemSource is constructed with (logger is added by main). */
export function serialModemOptions(serial: SerialConfig): SerialModemOptions {
  const { rn2483, rak3172, frameRadio, name, ...rest } = serial;
  return {
    ...rest,
    ...(name !== undefined && { name }),
    ...(rn2483 !== undefined && { rn2483 }),
    ...(rak3172 !== undefined && { rak3172 }),
    ...(frameRadio !== undefined && { frameRadio }),
  };
}

/** The config with secrets replaced, for a startup log line or `--print-config`. */
export function redactedConfig(config: GatewayConfig): GatewayConfig {
  return {
    ...config,
    mqtt: { ...config.mqtt, ...(config.mqtt.password !== undefined && { password: "[redacted]" }) },
  };
}
