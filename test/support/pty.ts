// Real pseudo-terminal pairs for serial tests: `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`.
// Whatever is written to one link is read from the other, through the kernel's tty layer, so serialport
// sees a real character device (termios, flock, hang-up on close). stop() is an unplug: socat exits,
// the links disappear and open ports get a hang-up; start() again is the replug under the same names.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let socatChecked: boolean | undefined;

/**
 * Whether pty tests can run. Without socat: in CI (CI=true) this throws "socat is required in CI";
 * elsewhere it prints why the tests are skipped and returns false.
 */
export function ptyTestsAvailable(): boolean {
  if (socatChecked === undefined) {
    socatChecked = spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;
    if (!socatChecked) {
      if (process.env.CI === "true") throw new Error("socat is required in CI");
      console.warn("socat not found: skipping pseudo-terminal tests (apt-get install socat)");
    }
  }
  return socatChecked;
}

export interface PtyPair {
  /** Directory holding the links; removed by dispose(). */
  readonly dir: string;
  /** The end the test plays the modem on. */
  readonly modemPath: string;
  /** The end the gateway opens. */
  readonly gatewayPath: string;
  /** Starts socat (again) and resolves when both links exist. */
  start(): Promise<void>;
  /** Stops socat (an unplug) and resolves when it has exited and the links are gone. */
  stop(): Promise<void>;
  /** stop() and remove the directory. */
  dispose(): Promise<void>;
  readonly running: boolean;
}

export async function createPtyPair(names: { modem?: string; gateway?: string } = {}): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), "openherz-pty-"));
  const modemPath = join(dir, names.modem ?? "modem");
  const gatewayPath = join(dir, names.gateway ?? "gw");
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn(
      "socat",
      ["-d", "-d", `pty,raw,echo=0,link=${modemPath}`, `pty,raw,echo=0,link=${gatewayPath}`],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child = proc;
    exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    // With -d -d socat logs "starting data transfer loop" once both ptys and their links exist.
    await new Promise<void>((resolve, reject) => {
      let log = "";
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes("starting data transfer loop")) {
          proc.stderr?.off("data", onData);
          proc.stderr?.resume();
          resolve();
        }
      };
      proc.stderr?.on("data", onData);
      proc.once("exit", (code) =>
        reject(new Error(`socat exited (${code}) before the ptys were ready: ${log}`)),
      );
      proc.once("error", reject);
    });
    if (!existsSync(modemPath) || !existsSync(gatewayPath))
      throw new Error("socat is ready but links are missing");
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    // SIGTERM lets socat remove its links before exiting.
    proc.kill("SIGTERM");
    await exited;
    // Belt and braces for a socat that died without cleaning up: the next start() must create fresh links.
    rmSync(modemPath, { force: true });
    rmSync(gatewayPath, { force: true });
  };

  const pair: PtyPair = {
    dir,
    modemPath,
    gatewayPath,
    start,
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    get running() {
      return child !== undefined;
    },
  };
  await start();
  return pair;
}
