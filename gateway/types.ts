// Types shared along the gateway's one-way flow (gateway/ARCHITECTURE.md). Leaf module: imports nothing.

export type RadioSourceKind = "udp" | "serial";

/** One LoRa frame as a radio source received it. */
export interface RadioFrame {
  /** LoRaWAN PHYPayload. */
  phyPayload: Uint8Array;
  /** Gateway clock (Date.now()) at reception. */
  receivedAtMs: number;
  /** Unix ms from the packet forwarder's GPS time, when present. */
  gpsTimeMs?: number;
  /** Gateway EUI (16 lowercase hex digits) or serial port path. */
  source: { kind: RadioSourceKind; id: string };
  radio: {
    rssi?: number;
    snr?: number;
    frequencyMhz?: number;
    /** "SF7BW125" for LoRa, "FSK50000" for FSK, "M0CW137" for LR-FHSS. */
    dataRate?: string;
    channel?: number;
    /** Concentrator counter in µs (u32, wraps every ~71.6 min). */
    tmst?: number;
  };
}

/** Reasons a frame or datagram is dropped; each is counted (metric label) and logged rate-limited. */
export type DropReason =
  // Semtech UDP, whole datagram
  | "udp_too_short"
  | "udp_too_large"
  | "udp_unknown_version"
  | "udp_unknown_identifier"
  | "udp_unexpected_packet"
  | "udp_bad_json"
  | "udp_malformed"
  | "udp_unknown_gateway"
  | "udp_unknown_source"
  | "udp_overloaded"
  // Semtech UDP, one rxpk
  | "udp_bad_rxpk"
  | "udp_bad_base64"
  | "udp_size_mismatch"
  | "udp_crc_bad"
  // serial modems
  | "serial_garbage"
  | "serial_odd_hex"
  | "serial_frame_too_long"
  | "serial_line_too_long"
  | "serial_rx_error"
  | "serial_command_failed"
  // any source: the onFrame promise rejected, so the frame is not durable and is not acknowledged
  | "frame_handler_failed";

/** Where a dropped input came from, for the log line. */
export interface DropContext {
  source: RadioSourceKind;
  /** Gateway EUI or serial port path, when known. */
  sourceId?: string;
  /** "address:port" of a UDP sender. */
  remote?: string;
}

/** What every radio source is constructed with. Callbacks must not throw; sources guard them anyway. */
export interface RadioSourceCallbacks {
  /** Resolves when the frame is durable (the journal has committed it); sources acknowledge only then. */
  onFrame(frame: RadioFrame): Promise<void>;
  onDrop(reason: DropReason, detail: string, context: DropContext): void;
}

export interface RadioSource {
  readonly name: string;
  /** Resolves when listening / port opened (or retrying in background). */
  start(): Promise<void>;
  /** Releases sockets, timers, ports. */
  stop(): Promise<void>;
}

/** The subset of pino's logger the gateway's modules use; pass a pino logger or child. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
