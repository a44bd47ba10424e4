import { describe, expect, it } from "vitest";
import { LineSplitter } from "../../../tools/flash/index.ts";

describe("LineSplitter", () => {
  it("splits on LF, strips CR, keeps partial lines across chunks", () => {
    const s = new LineSplitter(16);
    expect(s.push("OK\r\n+ID: a")).toEqual([{ kind: "line", line: "OK" }]);
    expect(s.push("bc\r")).toEqual([]);
    expect(s.push("\n\n")).toEqual([
      { kind: "line", line: "+ID: abc" },
      { kind: "line", line: "" },
    ]);
  });

  it("a line over the bound is dropped and reported once, at its line break; buffering stays bounded", () => {
    const s = new LineSplitter(8);
    expect(s.push("x".repeat(20))).toEqual([]);
    expect(s.push("y".repeat(1000))).toEqual([]);
    expect(s.push("z\nOK\n")).toEqual([
      { kind: "overflow", bytes: 1021 },
      { kind: "line", line: "OK" },
    ]);
    expect(s.push("123456789\n")).toEqual([{ kind: "overflow", bytes: 9 }]);
    expect(s.push("12345678\r\n")).toEqual([{ kind: "line", line: "12345678" }]);
  });
});
