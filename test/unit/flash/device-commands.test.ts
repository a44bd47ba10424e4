// The device side of the protocol (tools/flash/simulated/commands.ts) against §2 and §4 of
// hw/provisioning-protocol.md: one command line in, the answer lines out.
import { afterEach, describe, expect, it } from "vitest";
import { crc32, keyCheckValue, sha256Hex, toHex } from "../../../tools/flash/index.ts";
import { handleCommand } from "../../../tools/flash/simulated/index.ts";
import { disposeMemoryDevices, memoryDevice } from "./memory-device.ts";

afterEach(disposeMemoryDevices);

const chunk = (offset: number, bytes: Uint8Array) =>
  `AT+FWCHUNK=${offset},${toHex(bytes)},${crc32(bytes).toString(16).padStart(8, "0")}`;

describe("device commands", () => {
  it("unknown commands and bad arguments: ERROR:1 and ERROR:2, nothing stored", async () => {
    const { core } = await memoryDevice();
    expect(await handleCommand(core, "AT+FLY")).toEqual(["ERROR:1 unknown command AT+FLY"]);
    expect(await handleCommand(core, "hello")).toEqual(["ERROR:1 not an AT command"]);
    expect(await handleCommand(core, "AT+DEVEUI=123")).toEqual(["ERROR:2 DEVEUI: expected 16 hex digits"]);
    expect(await handleCommand(core, "AT+ID")).toEqual(["ERROR:2 use AT+ID?"]);
    expect(await handleCommand(core, "AT+LOC=91,0")).toEqual([
      expect.stringMatching(/^ERROR:2 location: latitude/),
    ]);
    expect(core.store.record.identity).toEqual({});
  });

  it("identity is read back, keys only as check values", async () => {
    const { core } = await memoryDevice();
    const key = "2B7E151628AED2A6ABF7158809CF4F3C";
    expect(await handleCommand(core, "at+deveui=70b3d57ed0061234")).toEqual(["OK"]);
    expect(await handleCommand(core, `AT+NWKSKEY=${key}`)).toEqual(["OK"]);
    expect(await handleCommand(core, "AT+DEVEUI?")).toEqual(["+DEVEUI: 70B3D57ED0061234", "OK"]);
    expect(await handleCommand(core, "AT+NWKSKEY?")).toEqual([
      "ERROR:2 keys are write-only; AT+KCV? gives their check values",
    ]);
    expect(await handleCommand(core, "AT+KCV?")).toEqual([
      `+KCV: nwkskey=${keyCheckValue(key)},appskey=-`,
      "OK",
    ]);
    const id = await handleCommand(core, "AT+ID?");
    expect(id[0]).toMatch(
      /^\+ID: board=sim,hwrev=-,host=0\.1\.0,fw=0\.1\.0,abi=1,proto=1,eui=[0-9A-F]{16},deveui=70B3D57ED0061234,devaddr=-$/,
    );
    expect(id.join("\n")).not.toContain(key);
  });

  it("configuration: the module's result; rejected → +CONFIG with the code, then ERROR:13, old one kept", async () => {
    const { core } = await memoryDevice();
    expect(await handleCommand(core, "AT+CONFIG=A3000101010205")).toEqual([
      "+CONFIG: result=0,cfgid=1",
      "OK",
    ]);
    // climate_interval_min 90: out of range (3).
    expect(await handleCommand(core, "AT+CONFIG=A2000201185A")).toEqual([
      "+CONFIG: result=3,cfgid=0",
      "ERROR:13 config rejected: result 3",
    ]);
    expect(await handleCommand(core, "AT+CONFIG?")).toEqual([
      "+CONFIG: result=0,cfgid=1,hex=A3000101010205",
      "OK",
    ]);
  });

  it("upload errors: no upload, size, out of order, bad CRC, incomplete, hash mismatch", async () => {
    const { core } = await memoryDevice();
    const image = new Uint8Array(300).map((_, i) => i & 0xff);
    const sha = sha256Hex(image);
    expect(await handleCommand(core, chunk(0, image.subarray(0, 10)))).toEqual([
      "ERROR:8 no upload in progress (AT+FWBEGIN first)",
    ]);
    expect(await handleCommand(core, "AT+FWCOMMIT")).toEqual(["ERROR:8 no upload in progress"]);
    expect(await handleCommand(core, `AT+FWBEGIN=300000,${sha}`)).toEqual([
      "ERROR:6 size 300000 outside 1..262144",
    ]);
    expect(await handleCommand(core, `AT+FWBEGIN=300,${sha}`)).toEqual([
      `+FWSTATUS: state=receiving,size=300,received=0,sha256=${sha}`,
      "OK",
    ]);
    expect(await handleCommand(core, chunk(10, image.subarray(10, 20)))).toEqual([
      "ERROR:5 expected offset 0",
    ]);
    expect(await handleCommand(core, `AT+FWCHUNK=0,${toHex(image.subarray(0, 10))},00000000`)).toEqual([
      "ERROR:4 bad CRC for the chunk at 0",
    ]);
    expect(await handleCommand(core, chunk(0, new Uint8Array(257)))).toEqual([
      "ERROR:6 chunk of 257 bytes, at most 256",
    ]);
    expect(await handleCommand(core, chunk(0, image.subarray(0, 256)))).toEqual(["OK"]);
    expect(await handleCommand(core, "AT+FWCOMMIT")).toEqual([
      "ERROR:9 upload incomplete: 256 of 300 bytes received",
    ]);
    expect(await handleCommand(core, chunk(256, new Uint8Array(50)))).toEqual([
      "ERROR:6 chunk ends at 306, beyond size 300",
    ]);
    // FWBEGIN with the same image resumes; the rest of another image gives a hash mismatch.
    expect((await handleCommand(core, `AT+FWBEGIN=300,${sha}`))[0]).toContain("received=256");
    expect(await handleCommand(core, chunk(256, new Uint8Array(44)))).toEqual([
      expect.stringMatching(/^ERROR:7 hash mismatch: .*upload discarded$/),
    ]);
    expect(await handleCommand(core, "AT+FWSTATUS?")).toEqual(["+FWSTATUS: state=idle", "OK"]);
    expect(await handleCommand(core, "AT+FWABORT")).toEqual(["OK"]);
  });

  it("a failed flash write stores nothing", async () => {
    const { core } = await memoryDevice();
    core.faults.flashWriteError = true;
    expect(await handleCommand(core, "AT+DEVADDR=26011BDA")).toEqual([
      "ERROR:12 flash write error: simulated flash fault",
    ]);
    expect(core.store.record.identity).toEqual({});
  });
});
