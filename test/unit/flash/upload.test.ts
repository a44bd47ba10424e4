// Upload logic of the tool (tools/flash/upload.ts) against the device side of the protocol
// (tools/flash/simulated/commands.ts) with its state in a temp dir, joined by an in-memory line transport:
// resends, resyncs, resumes, aborts. The same pair over a real pty: test/integration/flash/.
import { afterEach, describe, expect, it } from "vitest";
import { FlashClient, sha256Hex, uploadModule } from "../../../tools/flash/index.ts";
import { disposeMemoryDevices, MemoryTransport, memoryDevice as rig } from "./memory-device.ts";

afterEach(disposeMemoryDevices);

const chunkOffsets = (sent: string[]) =>
  sent.filter((l) => l.startsWith("AT+FWCHUNK=")).map((l) => Number(l.split("=")[1]!.split(",")[0]));

describe("uploadModule", () => {
  it("chunks of 256 bytes in order, progress to the end, commit, the slot holds the image", async () => {
    const t = await rig();
    const progress: number[] = [];
    const result = await uploadModule(t.client, t.image, { onProgress: (n) => progress.push(n) });
    expect(chunkOffsets(t.transport.sent)).toEqual([0, 256, 512, 768]);
    expect(progress).toEqual([0, 256, 512, 768, 1000]);
    expect(result).toMatchObject({ resumedFrom: 0, chunkResends: 0, uploads: 1 });
    expect(result.active.sha256).toBe(t.image.sha256);
    expect(sha256Hex(await t.store.readSlot(result.active.slot, 1000))).toBe(t.image.sha256);
  });

  it("a chunk damaged on the way is sent again", async () => {
    const t = await rig();
    t.core.faults.corruptChunks = 2;
    const result = await uploadModule(t.client, t.image);
    expect(result.chunkResends).toBe(2);
    expect(chunkOffsets(t.transport.sent)).toEqual([0, 0, 0, 256, 512, 768]);
  });

  it("a chunk damaged three times: checksum mismatch, FWABORT, the old module stays", async () => {
    const t = await rig();
    t.core.faults.corruptChunks = 99;
    const err = await uploadModule(t.client, t.image).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "checksum", exitCode: 8 });
    expect(t.transport.sent.at(-1)).toBe("AT+FWABORT");
    expect(t.store.record.upload).toBeNull();
    expect(t.store.record.active).toBe("a");
  });

  it("a final SHA-256 mismatch (bad flash cell) uploads again; twice is a checksum mismatch", async () => {
    const t = await rig();
    t.core.faults.corruptStored = 1;
    const once = await uploadModule(t.client, t.image);
    expect(once.uploads).toBe(2);
    const u = await rig();
    u.core.faults.corruptStored = 99;
    await expect(uploadModule(u.client, u.image)).rejects.toMatchObject({ kind: "checksum" });
    expect(u.store.record.active).toBe("a");
  });

  it("resumes where the node stopped; 'out of order' resyncs from AT+FWSTATUS?", async () => {
    const t = await rig();
    t.transport.unplugAfter = (l) => l.startsWith("AT+FWCHUNK=512,");
    const err = await uploadModule(t.client, t.image).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "disconnected" });
    // No FWABORT over a dead link: the partial upload stays for the next session.
    expect(t.transport.sent).not.toContain("AT+FWABORT");
    expect(t.store.record.upload).toMatchObject({ received: 768, verified: false });

    const again = new MemoryTransport(t.core);
    const result = await uploadModule(new FlashClient(again), t.image);
    expect(result.resumedFrom).toBe(768);
    expect(chunkOffsets(again.sent)).toEqual([768]);

    const u = await rig();
    await u.client.fwBegin(1000, u.image.sha256);
    await u.client.fwChunk(0, u.image.bytes.subarray(0, 256));
    // The tool thinks it starts at 0 (an answer lost): the node says 256.
    const v = await uploadModule(u.client, u.image, {});
    expect(v.resumedFrom).toBe(256);
  });

  it("--no-resume discards the partial upload", async () => {
    const t = await rig();
    await t.client.fwBegin(1000, t.image.sha256);
    await t.client.fwChunk(0, t.image.bytes.subarray(0, 256));
    const result = await uploadModule(t.client, t.image, { resume: false });
    expect(result.resumedFrom).toBe(0);
    expect(chunkOffsets(t.transport.sent).slice(1)).toEqual([0, 256, 512, 768]);
  });

  it("a node that stops answering: timeout, no abort attempted", async () => {
    const t = await rig();
    t.transport.unplugAfter = undefined;
    const progress: number[] = [];
    const p = uploadModule(t.client, t.image, {
      onProgress: (n) => {
        progress.push(n);
        if (n >= 512) t.transport.muted = true;
      },
    });
    await expect(p).rejects.toMatchObject({ kind: "timeout", exitCode: 7 });
    expect(t.transport.sent.filter((l) => l === "AT+FWABORT")).toEqual([]);
  });

  it("Ctrl-C between chunks: interrupted, FWABORT", async () => {
    const t = await rig();
    const controller = new AbortController();
    const p = uploadModule(t.client, t.image, {
      signal: controller.signal,
      onProgress: (n) => {
        if (n >= 256) controller.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ kind: "interrupted", exitCode: 130 });
    expect(t.transport.sent.at(-1)).toBe("AT+FWABORT");
    expect(t.store.record.upload).toBeNull();
  });

  it("the device refuses chunks it cannot store: flash write error, rejected", async () => {
    const t = await rig();
    t.core.faults.flashWriteError = true;
    await expect(uploadModule(t.client, t.image)).rejects.toMatchObject({ kind: "rejected", deviceCode: 12 });
  });
});
