// Startup failures as the operator sees them: one clear line naming the config field or file first, and the
// process's exit code (sysexits.h). Everything after startup is logged and counted instead (./gateway.ts).
import { JournalCorruptError } from "./journal/journal.ts";
import { RegistryError } from "./lorawan/registry.ts";
import { ConfigError, type GatewayConfig } from "./ops/config.ts";

/** sysexits.h: a configuration error. */
export const EX_CONFIG = 78;
/** Any other startup failure. */
export const EX_FAILURE = 1;

/** Startup failed: `message` is one clear line (or the config's problem list) for the operator. */
export class StartupError extends Error {
  override name = "StartupError";
  constructor(
    message: string,
    readonly exitCode: number,
    /** False for an unexpected failure (a bug): then the cause's stack is worth printing. */
    readonly operatorError: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type Part = "journal" | "registry" | "http" | "mqtt" | "udp" | "serial";

/** Runs one startup step; a failure is tagged with its part for startupError(). */
export async function step<T>(part: Part, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new PartError(part, err);
  }
}

/** Which startup step failed, for the message. */
class PartError extends Error {
  constructor(
    readonly part: Part,
    override readonly cause: unknown,
  ) {
    super(errorText(cause));
  }
}

/** One clear line for an operator's mistake; the field or file it concerns first. */
export function startupError(err: unknown, config?: GatewayConfig): StartupError {
  if (err instanceof StartupError) return err;
  const part = err instanceof PartError ? err.part : undefined;
  const cause = err instanceof PartError ? err.cause : err;
  const message = errorText(cause);
  if (cause instanceof ConfigError) return new StartupError(message, EX_CONFIG, true);
  if (cause instanceof RegistryError) return new StartupError(message, EX_FAILURE, true);
  const journalPath = config?.journal.path ?? "the journal";
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (cause instanceof JournalCorruptError || code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") {
    return new StartupError(
      `journal.path: ${journalPath} is damaged (${message}). Move it aside to start with an empty journal (its unsent messages stay in the moved ` +
        `file): mv ${journalPath} ${journalPath}.corrupt`,
      EX_FAILURE,
      true,
    );
  }
  if ((part === "udp" || part === "http") && typeof code === "string" && code in LISTEN_ERRORS) {
    const where = part === "udp" ? config?.udp : config?.http;
    const address = where === undefined ? "" : ` ${where.host}:${where.port}`;
    const field = part === "udp" ? "udp.port" : "http.port";
    return new StartupError(`${field}: cannot listen on${address}: ${LISTEN_ERRORS[code]}`, EX_FAILURE, true);
  }
  if (part === "journal") {
    return new StartupError(`journal.path: cannot open ${journalPath}: ${message}`, EX_FAILURE, true, {
      cause,
    });
  }
  return new StartupError(part === undefined ? message : `${part}: ${message}`, EX_FAILURE, false, { cause });
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: "address already in use (is another gateway or packet-forwarder server running?)",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "this machine has no such address",
};

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
