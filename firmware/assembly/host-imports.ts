// Imports from the host, module `openherz` (hw/host-abi.md "Imports"). Nothing else is imported.

/** Reads sensor `channel` (0 temperature, 1 humidity, 2 battery); on 0 (ok) the value is at `outPtr`. */
@external("openherz", "sensor_read")
export declare function sensorRead(channel: u32, outPtr: usize): u32;

/** Diagnostics for the host's log; the host may ignore them. Codes: LOG_* in status.ts. */
@external("openherz", "log_event")
export declare function logEvent(code: u32, arg: u32): void;
