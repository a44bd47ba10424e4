// A serial link for the rehearsal device: socat creates two connected pseudo-terminals, one under the path
// the technician gives to `sensornet flash --port`, one for the simulated node. Stopping socat is the unplug.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PtyLink {
  /** The technician's end. */
  readonly path: string;
  /** The node's end. */
  readonly devicePath: string;
  close(): Promise<void>;
}

export async function openPtyLink(path: string): Promise<PtyLink> {
  if (existsSync(path)) throw new Error(`${path} already exists (another simulated device?)`);
  const dir = mkdtempSync(join(tmpdir(), "openherz-usb-"));
  const devicePath = join(dir, "node");
  let child: ChildProcess;
  try {
    child = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${path}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let log = "";
    child.once("error", (err) =>
      reject(
        (err as NodeJS.ErrnoException).code === "ENOENT"
          ? new Error("socat is not installed (apt-get install socat): it provides the pseudo-terminals")
          : err,
      ),
    );
    child.once("exit", (code) => reject(new Error(`socat exited (${code}): ${log.trim()}`)));
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("starting data transfer loop")) resolve();
    });
  }).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  child.stderr?.resume();
  return {
    path,
    devicePath,
    async close() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
