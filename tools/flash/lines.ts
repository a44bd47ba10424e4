// Splits a byte stream into lines, with a bound: a peer that sends no line break (another device, noise at
// the wrong baud rate) cannot grow the buffer without limit. Used by both ends of the provisioning link.

/** A complete line (without "\r\n"), or a line that was longer than the bound, reported at its line break. */
export type LineEvent = { kind: "line"; line: string } | { kind: "overflow"; bytes: number };

export class LineSplitter {
  private partial = "";
  /** Bytes of the current overlong line, already discarded; 0 when not discarding. */
  private discarded = 0;

  constructor(private readonly maxLength: number) {}

  /** Feeds a chunk; returns the lines it completes. */
  push(chunk: Buffer | string): LineEvent[] {
    const text = typeof chunk === "string" ? chunk : chunk.toString("latin1");
    const out: LineEvent[] = [];
    const parts = text.split("\n");
    const last = parts.pop()!;
    for (const part of parts) {
      const line = (this.partial + part).replace(/\r$/, "");
      if (this.discarded > 0 || line.length > this.maxLength) {
        out.push({ kind: "overflow", bytes: this.discarded + line.length });
      } else {
        out.push({ kind: "line", line });
      }
      this.partial = "";
      this.discarded = 0;
    }
    this.partial += last;
    // One byte of slack for a "\r" that the next chunk's "\n" completes.
    if (this.partial.length > this.maxLength + 1) {
      this.discarded += this.partial.length;
      this.partial = "";
    }
    return out;
  }

  /** Drops a partial line (the link was reset). */
  reset(): void {
    this.partial = "";
    this.discarded = 0;
  }
}
