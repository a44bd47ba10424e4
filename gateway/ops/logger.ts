// JSON logs with pino on stdout (systemd's journal captures them), and the two guards around them:
//
// Redaction happens on each finished line, just before it is written: a log call, a child logger's
// bindings, an error's message and stack all pass the same gate. (pino's own `redact` takes fixed paths and
// cannot say "any field ending in Key"; its `formatters.bindings` does not see child bindings.) Two rules:
//  - a field whose name is key material (nwkSKey, appSKey, *Key, keys, password, secret, token, …) is
//    replaced by "[redacted]" wherever it is nested;
//  - the secret values the gateway knows (session keys from the registry, the MQTT password) are replaced
//    wherever they appear in a string, e.g. inside an error message.
// Lines without a suspicious field name and without a known secret are written untouched, so the cost is
// a regular-expression test per line.
//
// Per-packet problems go through createRateLimitedLog: a broken forwarder sending 50 bad datagrams a second
// must not wear out the SD card. Counting is the metrics' job and is never rate-limited.
import pino, { type DestinationStream, type Level, type LevelWithSilent, type Logger } from "pino";

export type { Logger as PinoLogger } from "pino";

export const REDACTED = "[redacted]";

/** Field names (matched case-insensitively, also as a suffix: "nwkSKey", "tlsKey") whose values are secret. */
const SECRET_FIELD =
  /(?:key|keys|password|passwd|passphrase|secret|secrets|token|authorization|credentials)$/i;
/** Names that end like a secret but hold none: identifiers used as map or sort keys. */
const NOT_SECRET = new Set(["deviceKey", "dedupKey", "sortKey"]);
/** Quick pre-test on a JSON line: could any field name be secret? */
const SECRET_FIELD_IN_JSON =
  /(?:key|keys|password|passwd|passphrase|secret|secrets|token|authorization|credentials)"\s*:/i;

export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELD.test(name) && !NOT_SECRET.has(name);
}

/**
 * Secret values to scrub from every log line. Hex keys (the registry's 16-byte session keys) are matched
 * as 32-hex-digit windows inside any hex run, case-insensitively; other values literally.
 */
export class SecretValues {
  private hexKeys = new Set<string>();
  private literals: string[] = [];

  /** Replaces the known hex keys. */
  setHexKeys(keys: Iterable<string>): void {
    this.hexKeys = new Set<string>();
    this.addHexKeys(keys);
  }

  /** Adds hex keys to the known ones, e.g. those of a reloaded registry (a removed device's stay known). */
  addHexKeys(keys: Iterable<string>): void {
    for (const key of keys) if (/^[0-9A-Fa-f]{32}$/.test(key)) this.hexKeys.add(key.toUpperCase());
  }

  /** Adds a literal secret (e.g. the MQTT password). Values shorter than 4 characters are ignored. */
  addLiteral(value: string): void {
    if (value.length >= 4 && !this.literals.includes(value)) this.literals.push(value);
  }

  scrub(text: string): string {
    let out = text;
    for (const literal of this.literals) {
      if (out.includes(literal)) out = out.replaceAll(literal, REDACTED);
      const escaped = JSON.stringify(literal).slice(1, -1);
      if (escaped !== literal && out.includes(escaped)) out = out.replaceAll(escaped, REDACTED);
    }
    if (this.hexKeys.size === 0) return out;
    return out.replace(/[0-9A-Fa-f]{32,}/g, (run) => {
      const upper = run.toUpperCase();
      for (let i = 0; i + 32 <= upper.length; i++) {
        if (this.hexKeys.has(upper.slice(i, i + 32))) return REDACTED;
      }
      return run;
    });
  }
}

/** Replaces secret-named fields at any depth. Returns a new value; input is not modified. */
export function redactFields(value: unknown, depth = 0): unknown {
  if (depth > 32 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretFieldName(k) ? REDACTED : redactFields(v, depth + 1);
  }
  return out;
}

/** One serialised log line (JSON + "\n") with secret fields and known secret values removed. */
export function redactLogLine(line: string, secrets?: SecretValues): string {
  let out = line;
  if (SECRET_FIELD_IN_JSON.test(out)) {
    try {
      out = `${JSON.stringify(redactFields(JSON.parse(out)))}\n`;
    } catch {
      // Not JSON (never from pino): fall through to the value scrub.
    }
  }
  return secrets ? secrets.scrub(out) : out;
}

export interface CreateLoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go; default stdout, written synchronously so that nothing is lost on a crash. */
  destination?: DestinationStream;
  secrets?: SecretValues;
  /** Fields on every line. Default { pid }. */
  base?: Record<string, unknown>;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const target = options.destination ?? pino.destination({ fd: 1, sync: true });
  const secrets = options.secrets;
  const gate: DestinationStream = { write: (line: string) => target.write(redactLogLine(line, secrets)) };
  return pino(
    {
      level: options.level ?? "info",
      base: options.base ?? { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    gate,
  );
}

/** The part of a logger the rate limiter needs (pino loggers and the gateway's Logger interface fit). */
export type LevelLogger = Record<Exclude<Level, "fatal" | "trace">, (obj: object, msg?: string) => void>;

export interface RateLimitOptions {
  /** Length of the window per reason. */
  intervalMs: number;
  /** Lines logged per reason and window; the rest are summarised. */
  burst: number;
  /** Reasons tracked at once; beyond it, new reasons share one window ("(other)"). Default 1000. */
  maxReasons?: number;
  /** For tests. */
  now?: () => number;
  /** Emit summaries of ended windows from a timer (unref'd). Default true; tests call flush(). */
  timer?: boolean;
}

export interface RateLimitedLog {
  /** Logs (at `level`, default warn) or counts as suppressed; `reason` is added to the line. */
  log(reason: string, context: object, msg: string, level?: "warn" | "info" | "error" | "debug"): void;
  /** Emits the summary of every window that has ended. */
  flushExpired(): void;
  /** Emits every pending summary now (shutdown). */
  flush(): void;
  /** flush() and stop the timer. */
  close(): void;
}

const OTHER_REASON = "(other)";

interface Window {
  startMs: number;
  logged: number;
  suppressed: number;
}

/**
 * Logs the first `burst` messages of each reason per `intervalMs`, then one line
 * "suppressed N similar messages" ({reason, suppressed, intervalMs}) when the window ends.
 */
export function createRateLimitedLog(logger: LevelLogger, options: RateLimitOptions): RateLimitedLog {
  const { intervalMs, burst } = options;
  if (!(intervalMs > 0) || !(burst >= 0))
    throw new RangeError("rate limit needs intervalMs > 0 and burst >= 0");
  const maxReasons = options.maxReasons ?? 1000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();

  const summarise = (reason: string, w: Window): void => {
    if (w.suppressed === 0) return;
    const n = w.suppressed;
    w.suppressed = 0;
    logger.warn(
      { reason, suppressed: n, intervalMs },
      `suppressed ${n} similar message${n === 1 ? "" : "s"}`,
    );
  };

  const flushExpired = (): void => {
    const t = now();
    for (const [reason, w] of windows) {
      if (t - w.startMs >= intervalMs) {
        summarise(reason, w);
        windows.delete(reason);
      }
    }
  };

  const flush = (): void => {
    for (const [reason, w] of windows) summarise(reason, w);
  };

  const timer = options.timer === false ? undefined : setInterval(flushExpired, intervalMs);
  timer?.unref();

  return {
    log(reason, context, msg, level = "warn") {
      const t = now();
      let key = reason;
      if (!windows.has(key) && windows.size >= maxReasons) {
        flushExpired();
        if (windows.size >= maxReasons) key = OTHER_REASON;
      }
      let w = windows.get(key);
      if (w !== undefined && t - w.startMs >= intervalMs) {
        summarise(key, w);
        w = undefined;
      }
      if (w === undefined) {
        w = { startMs: t, logged: 0, suppressed: 0 };
        windows.set(key, w);
      }
      if (w.logged < burst) {
        w.logged++;
        logger[level]({ ...context, reason }, msg);
      } else {
        w.suppressed++;
      }
    },
    flushExpired,
    flush,
    close() {
      clearInterval(timer);
      flush();
    },
  };
}
