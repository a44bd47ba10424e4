import { describe, expect, it } from "vitest";
import { BoundedReadlineParser } from "../../../../gateway/radio/bounded-readline.ts";

function collect(max: number) {
  const parser = new BoundedReadlineParser(max);
  const lines: string[] = [];
  const overflows: number[] = [];
  parser.on("data", (l: string) => lines.push(l));
  parser.on("overflow", (n: number) => overflows.push(n));
  const write = (s: string | Buffer) => parser.write(typeof s === "string" ? Buffer.from(s, "latin1") : s);
  return { parser, lines, overflows, write };
}

describe("BoundedReadlineParser", () => {
  it("splits on LF across chunks and keeps CR for the codec", async () => {
    const c = collect(64);
    c.write("ok\r\nradio_rx  01");
    c.write("02\r\n\r\n");
    await new Promise((r) => setImmediate(r));
    expect(c.lines).toEqual(["ok\r", "radio_rx  0102\r", "\r"]);
  });

  it("discards an overlong partial line up to its newline, reports it once, then resumes", async () => {
    const c = collect(16);
    c.write("x".repeat(10));
    c.write("x".repeat(10));
    c.write("y".repeat(1000));
    c.write("zz\nok\n");
    await new Promise((r) => setImmediate(r));
    expect(c.overflows).toEqual([20]);
    expect(c.lines).toEqual(["ok"]);
    expect(c.parser.buffer.length).toBe(0);
  });

  it("bytes pass through 1:1 (latin1), so binary noise stays visible", async () => {
    const c = collect(64);
    c.write(Buffer.from([0xff, 0x00, 0x41, 0x0a]));
    await new Promise((r) => setImmediate(r));
    expect(c.lines).toEqual(["\u00ff\u0000A"]);
  });
});
