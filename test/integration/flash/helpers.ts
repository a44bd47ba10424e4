// A simulated node on one end of a real pseudo-terminal pair (socat), the tool on the other: the setting of
// every flashing test. Unplug = pty.stop() (socat exits, both ends hang up, the links disappear); replug =
// pty.start(). The node keeps running through it, like a node on its battery.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_WASM_PATH } from "../../../firmware/host/node-host.ts";
import { FlashClient, openSerialTransport, sha256Hex } from "../../../tools/flash/index.ts";
import { SimulatedDevice, type SimulatedDeviceOptions } from "../../../tools/flash/simulated/index.ts";
import { SENSORNET_BIN } from "../../support/gateway.ts";
import { createPtyPair, type PtyPair } from "../../support/pty.ts";

export interface Rig {
  readonly dir: string;
  readonly pty: PtyPair;
  device: SimulatedDevice;
  /** A copy of firmware/build/node.wasm taken at the start (others may rebuild it meanwhile). */
  readonly firmware: string;
  readonly firmwareSha256: string;
  /** A second, different module: the same code with a custom section. */
  readonly firmwareV2: string;
  readonly firmwareV2Sha256: string;
  readonly stateDir: string;
  /** The tool's end. */
  readonly port: string;
  /** Power-cycles the node on the same state directory (options merged). */
  restartDevice(options?: Partial<SimulatedDeviceOptions>): Promise<void>;
  /** Resolves once the node has its end of the link open. */
  linked(): Promise<void>;
  dispose(): Promise<void>;
}

/** The module with a custom section appended: valid, same behaviour, another SHA-256. */
export function withCustomSection(bytes: Uint8Array, name: string, size = 64): Uint8Array {
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      out.push(b);
    } while (n !== 0);
    return out;
  };
  const nameBytes = [...Buffer.from(name)];
  const content = [...leb(nameBytes.length), ...nameBytes, ...new Array(size).fill(0x5a)];
  return new Uint8Array([...bytes, 0, ...leb(content.length), ...content]);
}

export async function startRig(options: Partial<SimulatedDeviceOptions> = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "openherz-flash-test-"));
  const firmware = join(dir, "node.wasm");
  copyFileSync(DEFAULT_WASM_PATH, firmware);
  const v1 = new Uint8Array(readFileSync(firmware));
  const v2 = withCustomSection(v1, "openherz.test.v2");
  const firmwareV2 = join(dir, "node-v2.wasm");
  writeFileSync(firmwareV2, v2);
  const stateDir = join(dir, "state");
  const pty = await createPtyPair({ modem: "node", gateway: "usb" });
  let current: Partial<SimulatedDeviceOptions> = options;
  const start = (o: Partial<SimulatedDeviceOptions>) =>
    SimulatedDevice.start({
      path: pty.modemPath,
      stateDir,
      factoryWasm: firmware,
      speed: 600,
      pollMs: 20,
      ...o,
    });
  const rig: Rig = {
    dir,
    pty,
    device: await start(current),
    firmware,
    firmwareSha256: sha256Hex(v1),
    firmwareV2,
    firmwareV2Sha256: sha256Hex(v2),
    stateDir,
    port: pty.gatewayPath,
    async restartDevice(o = {}) {
      await rig.device.close();
      current = { ...current, ...o };
      rig.device = await start(current);
      await rig.linked();
    },
    async linked() {
      for (let i = 0; i < 250 && !rig.device.stats().connected; i++)
        await new Promise((r) => setTimeout(r, 20));
      if (!rig.device.stats().connected)
        throw new Error("the simulated node did not open its end of the link");
    },
    async dispose() {
      await rig.device.close();
      await pty.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await rig.linked();
  return rig;
}

export async function connect(path: string, timeoutMs = 1000): Promise<FlashClient> {
  return new FlashClient(await openSerialTransport(path), { timeoutMs });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `sensornet <args>` as a real process (the technician's command); `asUid` runs it as another user (root only). */
export function runCli(
  args: string[],
  options: { asUid?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  const [cmd, argv] =
    options.asUid === undefined
      ? [process.execPath, [SENSORNET_BIN, ...args]]
      : [
          "setpriv",
          [
            `--reuid=${options.asUid}`,
            `--regid=${options.asUid}`,
            "--clear-groups",
            process.execPath,
            SENSORNET_BIN,
            ...args,
          ],
        ];
  const child = spawn(cmd, argv, {
    cwd: join(import.meta.dirname, "../../.."),
    env: { ...process.env, SENSORNET_REGISTRY: "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    stdout += c;
  });
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** Resolves when `predicate` holds, checking every 10 ms. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
