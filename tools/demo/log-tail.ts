/**
 * Where the demo's in-process gateway logs (a pino destination): the live view owns the terminal, so the
 * JSON lines are not printed; warnings and errors are counted and the last one is kept for the view.
 */
import type { DestinationStream } from "pino";

/** pino's numeric levels: 40 warn, 50 error, 60 fatal. */
const WARN = 40;

export class LogTail implements DestinationStream {
  warnings = 0;
  lastWarning: string | undefined;

  write(chunk: string): void {
    for (const line of chunk.split("\n")) {
      if (line.trim() === "") continue;
      let record: { level?: unknown; msg?: unknown; component?: unknown };
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      const level = typeof record.level === "number" ? record.level : levelNumber(record.level);
      if (level < WARN) continue;
      this.warnings++;
      const component = typeof record.component === "string" ? `${record.component}: ` : "";
      this.lastWarning = `${component}${String(record.msg ?? "")}`;
    }
  }
}

function levelNumber(level: unknown): number {
  switch (level) {
    case "warn":
      return 40;
    case "error":
      return 50;
    case "fatal":
      return 60;
    default:
      return 0;
  }
}
