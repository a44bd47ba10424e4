// `sensornet decode` as a technician runs it.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, VALID } from "./helpers.ts";

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO, "bin/sensornet.js"), "decode", ...args], {
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("sensornet decode", () => {
  it("prints the decoded JSON of a valid payload, from hex with separators or base64", () => {
    const v = VALID.find((x) => x.name === "climate-hourly-13")!;
    const spaced = v.hex.match(/../g)!.join(":");
    const r = run("--fport", "1", spaced);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(v.decoded);
    const c = VALID.find((x) => x.fport === 10)!;
    const b64 = run("--fport", "10", "--base64", Buffer.from(c.hex, "hex").toString("base64"));
    expect(JSON.parse(b64.stdout)).toEqual(c.decoded);
  });

  it("fails with one line and exit status 2 on garbage, bad hex or a missing FPort", () => {
    const cases = [
      [
        ["--fport", "1", "ffff"],
        "sensornet: invalid payload: climate batch: invalid CBOR initial byte 0xff at byte 0",
      ],
      [["--fport", "1", "xyz"], 'sensornet: payload is not hex: unexpected "x"'],
      [["--fport", "2", "abc"], "sensornet: payload has an odd number of hex digits (3)"],
      [["8000"], "sensornet: decode needs --fport"],
      [["--fport", "one", "80"], "sensornet: --fport must be a number"],
    ] as const;
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(message);
    }
  });
});
