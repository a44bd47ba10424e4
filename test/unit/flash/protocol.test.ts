// The provisioning protocol codec (tools/flash/protocol.ts) with line vectors from hw/provisioning-protocol.md.
import { describe, expect, it } from "vitest";
import {
  commands,
  crc32,
  formatCommand,
  formatConfigInfo,
  formatFwInfo,
  formatFwStatus,
  formatIdentity,
  formatLocation,
  formatSelfTest,
  formatVersion,
  keyCheckValue,
  ProtocolError,
  parseCommand,
  parseConfigInfo,
  parseFwInfo,
  parseFwStatus,
  parseIdentity,
  parseKeyCheck,
  parseLocation,
  parseNodeStatus,
  parseResponseLine,
  parseSelfTest,
  reply,
} from "../../../tools/flash/index.ts";

const SHA = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

describe("command lines", () => {
  it("parses the four forms, case-insensitive names, arguments split at commas", () => {
    expect(parseCommand("AT")).toEqual({ name: "", kind: "action", args: [] });
    expect(parseCommand("at+id?")).toEqual({ name: "ID", kind: "query", args: [] });
    expect(parseCommand("AT+FWCOMMIT")).toEqual({ name: "FWCOMMIT", kind: "action", args: [] });
    expect(parseCommand("AT+FWCHUNK=0,AABB,12345678\r")).toEqual({
      name: "FWCHUNK",
      kind: "set",
      args: ["0", "AABB", "12345678"],
    });
    expect(parseCommand("AT+LOC=")).toEqual({ name: "LOC", kind: "set", args: [""] });
    expect(parseCommand("hello")).toBeUndefined();
    expect(parseCommand("AT+")).toBeUndefined();
    expect(parseCommand("radio rx 0")).toBeUndefined();
  });

  it("formats what it parses", () => {
    for (const line of ["AT", "AT+ID?", "AT+FWCOMMIT", "AT+FWBEGIN=6538,ABCD"]) {
      expect(formatCommand(parseCommand(line)!)).toBe(line);
    }
  });

  it("builds the tool's commands: upper-case hex, CRC-32 of each chunk", () => {
    expect(commands.devEui("70b3d57ed0061234")).toBe("AT+DEVEUI=70B3D57ED0061234");
    expect(commands.fwChunk(256, new TextEncoder().encode("123456789"))).toBe(
      "AT+FWCHUNK=256,313233343536373839,CBF43926",
    );
    expect(commands.fwChunk(0, new Uint8Array([0]))).toBe("AT+FWCHUNK=0,00,D202EF8D");
    // The vector of hw/provisioning-protocol.md §3.
    expect(commands.fwChunk(0, new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).toBe(
      "AT+FWCHUNK=0,0061736D01000000,1C4B33CE",
    );
    expect(commands.location({ lat: 52.3745, lon: 9.7386, heightM: 4.5 })).toBe("AT+LOC=52.3745,9.7386,4.5");
    expect(commands.location({ lat: 52.123456789, lon: -9 })).toBe("AT+LOC=52.123457,-9");
    expect(commands.config(new Uint8Array([0xa1, 0x00, 0x01]))).toBe("AT+CONFIG=A10001");
    expect(commands.time(1795000000.7)).toBe("AT+TIME=1795000000");
  });
});

describe("answer lines", () => {
  it("OK, ERROR with code and text, information, comments, anything else", () => {
    expect(parseResponseLine("OK\r")).toEqual({ kind: "ok" });
    expect(parseResponseLine("ERROR:5 expected offset 512")).toEqual({
      kind: "error",
      code: 5,
      text: "expected offset 512",
    });
    expect(parseResponseLine("ERROR:1")).toEqual({ kind: "error", code: 1, text: "" });
    expect(parseResponseLine("+FWSTATUS: state=idle")).toEqual({
      kind: "info",
      name: "FWSTATUS",
      value: "state=idle",
    });
    expect(parseResponseLine("# OpenHerz sim ready")).toEqual({
      kind: "comment",
      text: "OpenHerz sim ready",
    });
    expect(parseResponseLine("AT_ERROR")).toEqual({ kind: "foreign", line: "AT_ERROR" });
    expect(parseResponseLine("ok")).toEqual({ kind: "foreign", line: "ok" });
  });

  it("an error text never spans lines", () => {
    expect(reply.error(2, "bad\r\nOK")).toBe("ERROR:2 bad OK");
  });
});

describe("records", () => {
  it("+ID round trip; '-' is not set; unknown keys are ignored", () => {
    const id = {
      board: "heltec-wifi-lora32-v3",
      hwRev: "V3.2",
      host: "0.1.0",
      fw: "1.2.3",
      abi: 1,
      proto: 1,
      eui: "70B3D57ED0061234",
      devEui: undefined,
      devAddr: undefined,
    };
    const text = formatIdentity(id);
    expect(text).toBe(
      "board=heltec-wifi-lora32-v3,hwrev=V3.2,host=0.1.0,fw=1.2.3,abi=1,proto=1,eui=70B3D57ED0061234,deveui=-,devaddr=-",
    );
    expect(parseIdentity(text)).toEqual(id);
    expect(parseIdentity(`${text.replace("deveui=-", "deveui=70b3d57ed0061234")},future=1`).devEui).toBe(
      "70B3D57ED0061234",
    );
  });

  it("refuses malformed records with a ProtocolError", () => {
    expect(() => parseIdentity("board=x")).toThrow(ProtocolError);
    expect(() => parseIdentity("board=x,host=1,fw=1,abi=one,proto=1,eui=70B3D57ED0061234")).toThrow(/abi/);
    expect(() => parseFwStatus("state=sleeping")).toThrow(ProtocolError);
    expect(() => parseFwInfo(`slot=c,size=1,sha256=${SHA},fw=1.0.0,abi=1,origin=upload`)).toThrow(/slot/);
    expect(() => parseKeyCheck("nwkskey=12345")).toThrow(/6 hex/);
    expect(() => parseLocation("91,0")).toThrow(/latitude/);
  });

  it("+FW, +FWSTATUS, +CONFIG, +LOC, +TEST, +STATUS", () => {
    const fw = {
      slot: "b" as const,
      size: 6538,
      sha256: SHA,
      fw: "1.0.0",
      abi: 1,
      origin: "upload" as const,
    };
    expect(parseFwInfo(formatFwInfo(fw))).toEqual(fw);
    expect(parseFwStatus(formatFwStatus({ state: "idle" }))).toEqual({ state: "idle" });
    const receiving = { state: "receiving" as const, size: 6538, received: 512, sha256: SHA };
    expect(formatFwStatus(receiving)).toBe(`state=receiving,size=6538,received=512,sha256=${SHA}`);
    expect(parseFwStatus(formatFwStatus(receiving))).toEqual(receiving);
    expect(formatConfigInfo({ result: 0, cfgId: 7 })).toBe("result=0,cfgid=7");
    expect(parseConfigInfo(formatConfigInfo({ result: 0, cfgId: 7, hex: "A10007" }))).toEqual({
      result: 0,
      cfgId: 7,
      hex: "A10007",
    });
    expect(parseConfigInfo("result=0,cfgid=0,hex=-")).toEqual({ result: 0, cfgId: 0, hex: undefined });
    expect(formatLocation(undefined)).toBe("-");
    expect(parseLocation("-")).toBeUndefined();
    expect(parseLocation(formatLocation({ lat: 52.3745, lon: -9.7386 }))).toEqual({
      lat: 52.3745,
      lon: -9.7386,
    });
    const test = {
      temperature: { ok: true as const, value: -153 },
      humidity: { ok: false as const, error: 2 },
      battery: { ok: true as const, value: 3950 },
      radio: { ok: true as const },
      noiseDbm: -117,
    };
    expect(formatSelfTest(test)).toBe("temperature=-153,humidity=E2,battery=3950,radio=ok,noise=-117");
    expect(parseSelfTest(formatSelfTest(test))).toEqual(test);
    expect(parseSelfTest("temperature=E1,humidity=E1,battery=4000,radio=E3,noise=-")).toMatchObject({
      radio: { ok: false, error: 3 },
      noiseDbm: undefined,
    });
    expect(parseNodeStatus("uptime=60,fcnt=12,uplinks=3,flags=512,session=abp")).toEqual({
      uptimeS: 60,
      fcnt: 12,
      uplinks: 3,
      flags: 512,
      session: "abp",
    });
  });

  it("fw_version as x.y.z", () => {
    expect(formatVersion((1 << 16) | (2 << 8) | 3)).toBe("1.2.3");
  });
});

describe("check values", () => {
  it("CRC-32/ISO-HDLC check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("KCV = first 3 bytes of AES-128-ECB(key, zeros): FIPS-197 zero-key vector", () => {
    // AES-128 of the zero block under the zero key is 66E94BD4EF8A2C3B884CFA59CA342B2E.
    expect(keyCheckValue("00000000000000000000000000000000")).toBe("66E94B");
    expect(keyCheckValue("2B7E151628AED2A6ABF7158809CF4F3C")).toBe("7DF76B");
    expect(keyCheckValue("2b7e151628aed2a6abf7158809cf4f3c")).toBe("7DF76B");
    expect(() => keyCheckValue("00")).toThrow(RangeError);
  });
});
