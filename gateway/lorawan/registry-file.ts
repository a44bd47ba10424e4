// The registry file on disk: read after a permission check (it holds every device's session keys) and
// hashed in chunks, written atomically, and watched for changes without a restart. What the file means and
// how it is validated: ./registry.ts; format and policy: ./README.md.
import { createHash, randomBytes } from "node:crypto";
import { type BigIntStats, type FSWatcher, watch } from "node:fs";
import { open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  emptyRegistryFile,
  parseRegistryWithHash,
  type Registry,
  RegistryError,
  type RegistryFile,
  validateRegistry,
} from "./registry.ts";

/**
 * The registry file's contents, to add to, or an empty file when there is none yet (`created`). Other
 * errors (permissions, invalid content) are thrown as by loadRegistry.
 */
export async function loadRegistryOrEmpty(path: string): Promise<{ file: RegistryFile; created: boolean }> {
  try {
    const registry = await loadRegistry(path);
    return { file: { version: registry.version, devices: [...registry.devices] }, created: false };
  } catch (err) {
    if (err instanceof RegistryError && err.code === "not_found") {
      return { file: emptyRegistryFile(), created: true };
    }
    throw err;
  }
}

/** The file's text, exactly as `saveRegistry` writes it. */
export function serializeRegistry(file: RegistryFile): string {
  return `${JSON.stringify({ version: file.version, devices: file.devices }, null, 2)}\n`;
}

/**
 * Reads and validates the registry file. Refuses a file readable by group or others: it holds the session
 * keys of every device.
 */
export async function loadRegistry(path: string): Promise<Registry> {
  const { text, hash } = await readRegistryFile(path, true);
  return parseRegistryWithHash(text, path, hash);
}

/**
 * Validates and writes the registry atomically: temp file in the same directory (mode 0600), fsync, rename
 * over the target, fsync the directory. A power cut leaves either the old or the new file, never a torn one.
 * Concurrent writers: the last rename wins.
 */
export async function saveRegistry(path: string, file: RegistryFile): Promise<void> {
  const text = serializeRegistry(validateRegistry(file, path));
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.chmod(0o600); // the umask could have narrowed it further, never widened; be exact
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw ioError(path, "write", err);
  }
  await syncDirectory(dir);
}

export interface RegistryWatcher {
  close(): void;
}

export interface WatchRegistryOptions {
  /** The registry already loaded: unchanged content is not reported again. Without it, the first check reports the current file. */
  initial?: Registry;
  /** Quiet time after the last file-system event before reloading (default 200 ms). */
  debounceMs?: number;
  /** Also re-check this often, for file systems where fs.watch misses events (default 30 s, 0 = never). */
  pollIntervalMs?: number;
}

/**
 * Reloads the registry when its file changes, without restarting the gateway. Watches the directory (an
 * atomic replace swaps the inode, so a watch on the file itself would go deaf), debounces, and compares a
 * SHA-256 of the content. Invalid new content (or a missing or too-open file) is reported once per distinct
 * problem through `onError`, and `onChange` is not called: the caller keeps the previous registry.
 */
export function watchRegistry(
  path: string,
  onChange: (registry: Registry) => void,
  onError: (error: Error) => void,
  options: WatchRegistryOptions = {},
): RegistryWatcher {
  const debounceMs = options.debounceMs ?? 200;
  const pollIntervalMs = options.pollIntervalMs ?? 30_000;
  const name = basename(path);
  let lastHash = options.initial?.contentHash;
  /** The file as last read (see fileIdentity): the same identity again is the same content, not re-read. */
  let lastIdentity: string | undefined;
  let lastProblem: string | undefined;
  let closed = false;
  let running = false;
  let again = false;
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;

  const check = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await checkOnce();
      } while (again && !closed);
    } finally {
      running = false;
    }
  };

  // With 10,000 devices the file has 4 MB. It is hashed in small chunks, and read as a whole only when its
  // hash differs; and not even hashed while its identity says it is the file already checked: the poll
  // comes every 30 s, on a Pi, for a file that changes a few times a year.
  const checkOnce = async (): Promise<void> => {
    if (lastIdentity !== undefined && lastIdentity === (await fileIdentity(path))) return;
    let file: RegistryFileRead;
    try {
      file = await readRegistryFile(path, false);
      if (file.hash !== lastHash) file = await readRegistryFile(path, true);
    } catch (err) {
      lastIdentity = undefined;
      report(err, `read:${(err as RegistryError).code ?? "io"}`);
      return;
    }
    const { hash, text, identity } = file;
    lastIdentity = identity;
    if (hash === lastHash) {
      lastProblem = undefined;
      return;
    }
    let registry: Registry;
    try {
      registry = parseRegistryWithHash(text, path, hash);
    } catch (err) {
      report(err, `content:${hash}`);
      return;
    }
    lastHash = hash;
    lastProblem = undefined;
    if (closed) return;
    try {
      onChange(registry);
    } catch (err) {
      onError(err as Error);
    }
  };

  const report = (err: unknown, problem: string): void => {
    if (closed || problem === lastProblem) return;
    lastProblem = problem;
    onError(err instanceof Error ? err : new Error(String(err)));
  };

  const schedule = (delayMs: number): void => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void check(), delayMs);
    debounce.unref();
  };

  const startWatcher = (): void => {
    if (closed || watcher !== undefined) return;
    try {
      watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
        // Some platforms give no filename; then any change in the directory triggers a (cheap) check.
        if (filename === null || filename.toString() === name) schedule(debounceMs);
      });
      watcher.on("error", (err) => {
        watcher?.close();
        watcher = undefined;
        report(ioError(path, "watch", err), "watch");
      });
    } catch (err) {
      watcher = undefined;
      report(ioError(path, "watch", err), "watch");
    }
  };

  startWatcher();
  const poll =
    pollIntervalMs > 0
      ? setInterval(() => {
          startWatcher();
          void check();
        }, pollIntervalMs)
      : undefined;
  poll?.unref();
  if (lastHash === undefined) schedule(0);

  return {
    close(): void {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
      watcher = undefined;
    },
  };
}

/** Content changes within this time of a check may leave size and timestamps as they were (coarse clocks). */
const RACY_MS = 2000;

/**
 * Device, inode, size, mode and timestamps of a file: a replace (new inode), a write (size, mtime) or a
 * chmod (mode, ctime) changes it. Undefined when the file cannot be stat'ed.
 */
async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    return identityOf(await stat(path, { bigint: true }));
  } catch {
    return undefined;
  }
}

function identityOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mode}:${s.mtimeNs}:${s.ctimeNs}`;
}

interface RegistryFileRead {
  /** SHA-256 of the bytes read. */
  hash: string;
  /** The text, when asked for ("" otherwise). */
  text: string;
  /** The file's identity, unless it changed so recently that a further change could go unseen in it. */
  identity: string | undefined;
}

const CHUNK_BYTES = 64 * 1024;

/** Reads the registry file after the permission check, hashing it in chunks; keeps the text only if asked. */
async function readRegistryFile(path: string, withText: boolean): Promise<RegistryFileRead> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new RegistryError("not_found", `registry file ${path} not found`);
    }
    throw ioError(path, "open", err);
  }
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) throw new RegistryError("io", `registry ${path} is not a regular file`);
    // Checked on the open descriptor, so the file read is the file checked.
    if (process.platform !== "win32" && (stat.mode & 0o044n) !== 0n) {
      const mode = (stat.mode & 0o777n).toString(8).padStart(4, "0");
      throw new RegistryError(
        "permissions",
        `registry file ${path} is readable by group or others (mode ${mode}) and holds session keys; ` +
          `fix with: chmod 600 ${shellQuote(path)}`,
      );
    }
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    const chunks: Buffer[] = [];
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      if (withText) chunks.push(Buffer.from(chunk.subarray(0, bytesRead)));
    }
    const changedMs = Math.max(Number(stat.mtimeNs), Number(stat.ctimeNs)) / 1e6;
    return {
      hash: hash.digest("hex"),
      text: withText ? Buffer.concat(chunks).toString("utf8") : "",
      identity: changedMs < Date.now() - RACY_MS ? identityOf(stat) : undefined,
    };
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw ioError(path, "read", err);
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (err) {
    // Some file systems (and Windows) cannot fsync a directory; the rename itself has happened.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM" && code !== "ENOTSUP") {
      throw ioError(dir, "sync", err);
    }
  } finally {
    await handle?.close();
  }
}

function ioError(path: string, action: string, err: unknown): RegistryError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === "EACCES" || e.code === "EPERM" ? "permission denied" : (e.code ?? e.message);
  return new RegistryError("io", `cannot ${action} registry ${path}: ${why}`);
}

/** A shell-safe rendering of a path for the hints we print. */
export function shellQuote(path: string): string {
  return /^[\w./@%+=:,-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}
