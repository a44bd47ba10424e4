// hw/host-abi.md "The module": no input through the ABI can make the module trap.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadFirmwareModule, NodeHost } from "../../../firmware/host/node-host.ts";
import { wasmApi } from "../../../firmware/host/wasm-api.ts";
import { firmwareBytes, WASM_PATH } from "./helpers.ts";

/** Any i32/u32 bit pattern, biased to the edges, plus a few JavaScript numbers ToInt32 folds into them. */
const anyArg = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
  fc.constantFrom(
    0,
    1,
    -1,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53,
    -(2 ** 53),
    Number.NaN,
    86_400,
  ),
  fc.integer({ min: 0, max: 100_000 }),
);

type Call =
  | { op: "init"; args: [number, number]; blob: Uint8Array | null; corrupt: boolean }
  | { op: "downlink"; args: [number, number]; bytes: Uint8Array; len: number | null }
  | { op: "tick" | "clock" | "build"; args: [number] }
  | { op: "done"; args: [number, number] }
  | { op: "pulse" | "radio"; args: [number, number, number] }
  | { op: "counter"; args: [number] };

const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({
    op: fc.constant("init" as const),
    args: fc.tuple(anyArg, anyArg),
    blob: fc.option(fc.uint8Array({ maxLength: 1200 })),
    corrupt: fc.boolean(),
  }),
  fc.record({
    op: fc.constant("downlink" as const),
    args: fc.tuple(anyArg, fc.oneof(fc.constant(10), anyArg)),
    bytes: fc.uint8Array({ maxLength: 70 }),
    len: fc.option(anyArg),
  }),
  fc.record({
    op: fc.constantFrom("tick" as const, "clock" as const, "build" as const),
    args: fc.tuple(anyArg),
  }),
  fc.record({ op: fc.constant("done" as const), args: fc.tuple(anyArg, anyArg) }),
  fc.record({
    op: fc.constantFrom("pulse" as const, "radio" as const),
    args: fc.tuple(anyArg, anyArg, anyArg),
  }),
  fc.record({ op: fc.constant("counter" as const), args: fc.tuple(anyArg) }),
);

describe("robustness across the ABI", () => {
  firmwareBytes();

  it("never traps on any sequence of calls with any arguments and sensor answers", async () => {
    const module = await loadFirmwareModule(WASM_PATH);
    let savedState: Uint8Array = new Uint8Array();
    await fc.assert(
      fc.asyncProperty(
        fc.array(call, { maxLength: 60 }),
        fc.array(anyArg, { minLength: 1, maxLength: 16 }),
        async (calls, sensorValues) => {
          let r = 0;
          const sensors = () => {
            const v = sensorValues[r++ % sensorValues.length] ?? 0;
            return { err: v & 1 ? v & 7 : 0, value: v };
          };
          const host = await NodeHost.create({ sensors, module });
          const fw = host.exports as Record<string, (...a: number[]) => number>;
          try {
            for (const c of calls) {
              switch (c.op) {
                case "init": {
                  const blob = c.blob ?? savedState;
                  if (c.corrupt && blob.length > 20) blob[20] = (blob[20] ?? 0) ^ 0x5a;
                  host.init(c.args[0], c.args[1], c.blob === null && !c.corrupt ? undefined : blob);
                  break;
                }
                case "downlink": {
                  const rx = fw.rx_ptr?.() ?? 0;
                  new Uint8Array((host.exports.memory as { buffer: ArrayBuffer }).buffer).set(
                    c.bytes.subarray(0, 64),
                    rx,
                  );
                  fw.downlink?.(c.args[0], c.args[1], c.len ?? c.bytes.length);
                  break;
                }
                case "tick":
                  expect(host.tick(c.args[0])).toBeGreaterThanOrEqual(1);
                  break;
                case "clock":
                  host.clockSet(c.args[0]);
                  break;
                case "build":
                  host.uplinkBuild(c.args[0]);
                  break;
                case "done":
                  fw.uplink_done?.(c.args[0], c.args[1]);
                  break;
                case "pulse":
                  host.pulse(...c.args);
                  break;
                case "radio":
                  host.radioSet(...c.args);
                  break;
                case "counter":
                  host.counter(c.args[0]);
                  break;
              }
            }
            savedState = host.saveState();
          } catch (err) {
            if (err instanceof wasmApi.RuntimeError) throw new Error(`trap: ${(err as Error).message}`);
            throw err;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("ticks stay within 1..86400 s for any clock value", async () => {
    const module = await loadFirmwareModule(WASM_PATH);
    const host = await NodeHost.create({ sensors: () => ({ err: 0, value: 2000 }), module });
    host.init(0, 0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (now) => {
        const wake = host.tick(now);
        expect(wake).toBeGreaterThanOrEqual(1);
        expect(wake).toBeLessThanOrEqual(86_400);
        host.drainUplinks(now);
      }),
      { numRuns: 2000 },
    );
  });
});
