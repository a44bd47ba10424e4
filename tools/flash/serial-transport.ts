// The tool's end of the USB serial link: serialport, 8N1, exclusive lock (a second program on the same
// port fails fast with "port busy" instead of both reading half the answers), lines split by LineSplitter.
import { realpathSync } from "node:fs";
import { SerialPort } from "serialport";
import { FlashError, openError } from "./errors.ts";
import { LineSplitter } from "./lines.ts";
import { DEFAULT_BAUD_RATE, MAX_LINE_LENGTH } from "./protocol.ts";

/** A line-based link to the device; the client needs nothing else. */
export interface LineTransport {
  readonly path: string;
  /** Sends one line ("\r\n" appended); rejects when the port is gone. */
  send(line: string): Promise<void>;
  onLine(listener: (line: string) => void): () => void;
  /** Called once when the link closes by itself (unplugged); not after close(). */
  onClose(listener: (err: Error | undefined) => void): () => void;
  /** Whether the device node is still there and the same one that was opened (false after an unplug). */
  present(): boolean;
  readonly isOpen: boolean;
  close(): Promise<void>;
}

export interface SerialOptions {
  baudRate?: number;
}

function target(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

export async function openSerialTransport(path: string, options: SerialOptions = {}): Promise<LineTransport> {
  const port = new SerialPort({
    path,
    baudRate: options.baudRate ?? DEFAULT_BAUD_RATE,
    dataBits: 8,
    parity: "none",
    stopBits: 1,
    lock: true,
    autoOpen: false,
  });
  // Without an "error" listener an unplug during a write would crash the process.
  port.on("error", () => {});
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(openError(path, err)) : resolve())),
  );
  const opened = target(path);
  const splitter = new LineSplitter(MAX_LINE_LENGTH);
  const lineListeners = new Set<(line: string) => void>();
  const closeListeners = new Set<(err: Error | undefined) => void>();
  let closing = false;
  port.on("data", (chunk: Buffer) => {
    for (const event of splitter.push(chunk)) {
      // An overlong line is not an answer of this protocol: the client sees it as foreign.
      const line = event.kind === "line" ? event.line : `<${event.bytes} bytes without a line break>`;
      for (const l of lineListeners) l(line);
    }
  });
  port.on("close", (err: Error | null) => {
    if (closing) return;
    for (const l of closeListeners) l(err ?? undefined);
  });
  return {
    path,
    send(line) {
      return new Promise((resolve, reject) => {
        if (!port.isOpen) {
          reject(new FlashError("disconnected", `port ${path} is closed`));
          return;
        }
        port.write(`${line}\r\n`, "latin1", (err) => {
          if (err) reject(new FlashError("disconnected", `cannot write to ${path}: ${err.message}`));
          else resolve();
        });
      });
    },
    onLine(listener) {
      lineListeners.add(listener);
      return () => lineListeners.delete(listener);
    },
    onClose(listener) {
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
    present: () => opened !== undefined && target(path) === opened,
    get isOpen() {
      return port.isOpen;
    },
    close() {
      closing = true;
      return new Promise<void>((resolve) => {
        if (!port.isOpen) resolve();
        else port.close(() => resolve());
      });
    },
  };
}
