// Module upload (hw/provisioning-protocol.md "Firmware module upload"): AT+FWBEGIN (which resumes an upload of
// the same image), chunks with a CRC each, resend on a bad CRC, resync on "out of order", a fresh upload on a
// final SHA-256 mismatch, AT+FWCOMMIT. Nothing here can activate a partial module: only the commit does, and
// the node checks the hash first.
//
// On a failure the tool can still talk about (checksums exhausted, a rejection, Ctrl-C) it sends AT+FWABORT.
// When the link itself is gone (unplugged, no answer) it cannot; the partial upload then stays in the node's
// inactive slot, harmless, and the next run resumes it.
import type { FlashClient } from "./client.ts";
import { FlashError } from "./errors.ts";
import { ErrorCode, type FwInfo, MAX_CHUNK_BYTES } from "./protocol.ts";

export interface UploadImage {
  bytes: Uint8Array;
  sha256: string;
}

export interface UploadOptions {
  /** Continue an upload of the same image (default true); false discards it first. */
  resume?: boolean;
  /** Default 256 (the protocol's maximum). */
  chunkSize?: number;
  /** Sends of one chunk after a bad CRC. Default 3. */
  chunkAttempts?: number;
  /** Whole uploads after a final SHA-256 mismatch. Default 2. */
  uploadAttempts?: number;
  /** Bytes the node holds so far; called after every chunk (and once at the start). */
  onProgress?: (received: number, total: number) => void;
  /** Something worth a line in verbose output: a resend, a resync, a resume. */
  onNote?: (note: string) => void;
  signal?: AbortSignal;
}

export interface UploadResult {
  /** Bytes already on the node when this upload started (0: from scratch). */
  resumedFrom: number;
  /** Chunks sent again after a bad CRC. */
  chunkResends: number;
  /** Uploads needed (more than 1 after a final hash mismatch). */
  uploads: number;
  /** The node's active module after the commit. */
  active: FwInfo;
}

const LINK_LOST: ReadonlySet<string> = new Set(["disconnected", "timeout"]);
const ABORT_TIMEOUT_MS = 1000;

export async function uploadModule(
  client: FlashClient,
  image: UploadImage,
  options: UploadOptions = {},
): Promise<UploadResult> {
  try {
    return await upload(client, image, options);
  } catch (err) {
    if (!(err instanceof FlashError) || !LINK_LOST.has(err.kind)) {
      await client.fwAbort(ABORT_TIMEOUT_MS).catch(() => {});
    }
    throw err;
  }
}

async function upload(client: FlashClient, image: UploadImage, o: UploadOptions): Promise<UploadResult> {
  const size = image.bytes.length;
  const chunkSize = Math.min(o.chunkSize ?? MAX_CHUNK_BYTES, MAX_CHUNK_BYTES);
  const chunkAttempts = o.chunkAttempts ?? 3;
  const uploadAttempts = o.uploadAttempts ?? 2;
  let chunkResends = 0;
  let resumedFrom = 0;
  let uploads = 0;

  if (o.resume === false) await client.fwAbort();
  for (let attempt = 1; ; attempt++) {
    uploads = attempt;
    const begun = await client.fwBegin(size, image.sha256);
    let offset = begun.state === "idle" ? 0 : begun.received;
    if (attempt === 1) {
      resumedFrom = offset;
      if (offset > 0) o.onNote?.(`resuming the upload at byte ${offset} of ${size}`);
    }
    o.onProgress?.(offset, size);
    let resyncs = 0;
    let failedHere = 0;
    let hashMismatch = false;
    while (offset < size) {
      if (o.signal?.aborted) throw new FlashError("interrupted", "interrupted during the upload");
      const chunk = image.bytes.subarray(offset, Math.min(size, offset + chunkSize));
      try {
        await client.fwChunk(offset, chunk);
      } catch (err) {
        if (!(err instanceof FlashError) || err.deviceCode === undefined) throw err;
        if (err.deviceCode === ErrorCode.badCrc) {
          failedHere++;
          if (failedHere >= chunkAttempts) {
            throw new FlashError(
              "checksum",
              `checksum mismatch: the chunk at byte ${offset} arrived damaged ${failedHere} times`,
              "the USB link is unreliable: try another cable or port, without a hub",
            );
          }
          chunkResends++;
          o.onNote?.(`chunk at byte ${offset}: bad CRC on the node, sending it again`);
          continue;
        }
        if (err.deviceCode === ErrorCode.outOfOrder && resyncs < 3) {
          resyncs++;
          const status = await client.fwStatus();
          if (status.state === "idle") throw err;
          o.onNote?.(`node expected another offset; continuing at byte ${status.received}`);
          offset = status.received;
          continue;
        }
        if (err.deviceCode === ErrorCode.hashMismatch) {
          hashMismatch = true;
          break;
        }
        throw err;
      }
      offset += chunk.length;
      failedHere = 0;
      o.onProgress?.(offset, size);
    }
    if (!hashMismatch) break;
    if (attempt >= uploadAttempts) {
      throw new FlashError(
        "checksum",
        `checksum mismatch: the SHA-256 of the uploaded module differed from the file's ${attempt} times`,
        "the USB link or the node's flash is unreliable: try another cable; if it persists, the board is faulty",
      );
    }
    o.onNote?.("the node's SHA-256 of the upload did not match: uploading again");
  }

  const active = await client.fwCommit();
  if (active.sha256 !== image.sha256.toUpperCase()) {
    throw new FlashError(
      "verify",
      `after the commit the node runs a module with SHA-256 ${active.sha256.slice(0, 16)}…, not the uploaded one`,
    );
  }
  return { resumedFrom, chunkResends, uploads, active };
}
