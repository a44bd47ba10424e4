// What can go wrong while flashing, as the technician needs to hear it: one kind per cause, a one-line
// message, a hint saying what to do, and a distinct exit status for scripts (`sensornet flash --help`).

export type FlashErrorKind =
  | "no-device"
  | "port-busy"
  | "permission"
  | "wrong-board"
  | "timeout"
  | "checksum"
  | "rejected"
  | "disconnected"
  | "verify"
  | "registry"
  | "firmware"
  | "interrupted";

/** Exit status per kind; 0 success, 1 a bug, 2 a usage mistake (cli/usage-error.ts). */
export const FLASH_EXIT_CODES: Readonly<Record<FlashErrorKind, number>> = {
  "no-device": 3,
  "port-busy": 4,
  permission: 5,
  "wrong-board": 6,
  timeout: 7,
  checksum: 8,
  rejected: 9,
  disconnected: 10,
  verify: 11,
  registry: 12,
  firmware: 13,
  interrupted: 130,
};

export const FLASH_EXIT_HELP: readonly string[] = [
  "0 done",
  "2 usage mistake",
  "3 no device found",
  "4 port busy (another program has it open)",
  "5 permission denied on the port",
  "6 wrong board, not an OpenHerz node, or host ABI mismatch",
  "7 timeout: the device stopped answering",
  "8 checksum mismatch (chunk CRC or final SHA-256) after retries",
  "9 the device rejected a command (ERROR code)",
  "10 device unplugged during the session",
  "11 read-back differs from what was written",
  "12 registry file could not be updated",
  "13 firmware file missing or not a node module",
  "130 interrupted (Ctrl-C)",
];

export class FlashError extends Error {
  override name = "FlashError";
  constructor(
    readonly kind: FlashErrorKind,
    message: string,
    /** What to do about it, for the technician. */
    readonly hint?: string,
    /** The device's ERROR code, for "rejected". */
    readonly deviceCode?: number,
  ) {
    super(message);
  }

  get exitCode(): number {
    return FLASH_EXIT_CODES[this.kind];
  }
}

export const DIALOUT_HINT =
  "add yourself to the group that owns serial ports: sudo usermod -aG dialout $USER, then log out and in again";

export const TIMEOUT_HINT =
  "check the USB cable (a data cable, not a charge-only one), the baud rate (--baud, default 115200), and " +
  "press the node's reset button; run the same command again: an interrupted upload resumes";

export const RESUME_NOTE =
  "the node keeps running its current module; the partial upload stays in the inactive slot and the same " +
  "command resumes it";

/** Classifies an error from opening a serial port (serialport's messages carry no errno code). */
export function openError(path: string, err: Error): FlashError {
  const m = err.message;
  if (/Cannot lock port|EBUSY|Resource busy|Resource temporarily unavailable/i.test(m)) {
    return new FlashError(
      "port-busy",
      `port ${path} is busy: another program has it open`,
      "close serial monitors (screen, minicom, Arduino IDE, another sensornet flash) and ModemManager, then retry",
    );
  }
  if (/EACCES|Permission denied/i.test(m)) {
    return new FlashError("permission", `permission denied on ${path}`, DIALOUT_HINT);
  }
  if (/ENOENT|No such file/i.test(m)) {
    return new FlashError(
      "no-device",
      `no device at ${path}`,
      "plug the node in (data cable), then `sensornet flash --list-ports`",
    );
  }
  return new FlashError("disconnected", `cannot open ${path}: ${m}`);
}
