import type { TransformCallback } from "node:stream";
import { ReadlineParser } from "@serialport/parser-readline";

/**
 * @serialport/parser-readline with a bound: DelimiterParser keeps every byte until a delimiter arrives, so
 * a modem babbling without newlines would grow the buffer without limit. Here a partial line longer than
 * `maxLineLength` is discarded up to its next newline and reported once, when discarding starts, through
 * the "overflow" event (argument: bytes held at that moment). Complete lines inside one chunk are at most
 * one chunk long (serialport reads ≤ 64 KiB), and the caller checks their length too.
 *
 * Splits on "\n"; a trailing "\r" stays on the line for the line codecs to strip, so modems that end
 * lines with "\r\n" (RN2483, RAK3172) and with "\n" alone both work.
 */
export class BoundedReadlineParser extends ReadlineParser {
  private discarding = false;

  constructor(private readonly maxLineLength: number) {
    super({ delimiter: "\n", encoding: "latin1" });
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, cb: TransformCallback): void {
    let data = chunk;
    if (this.discarding) {
      const nl = data.indexOf(0x0a);
      if (nl === -1) {
        cb();
        return;
      }
      this.discarding = false;
      data = data.subarray(nl + 1);
    }
    super._transform(data, encoding, (err) => {
      if (this.buffer.length > this.maxLineLength) {
        const held = this.buffer.length;
        this.discarding = true;
        this.buffer = Buffer.alloc(0);
        this.emit("overflow", held);
      }
      cb(err);
    });
  }
}
