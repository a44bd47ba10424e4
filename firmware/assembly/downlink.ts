// Downlinks (hw/host-abi.md downlink): configuration on FPort 10, acknowledged by the next status uplink.
import { CFG_APPLIED, CFG_OVERSIZED, readConfig, readConfigId } from "./cbor-config-reader";
import { CONFIG_MAX_BYTES, configApply } from "./config";
import { logEvent } from "./host-imports";
import {
  CNT_DOWNLINKS_REJECTED,
  FLAG_CONFIG_REJECTED,
  FLAG_DOWNLINK_INVALID,
  LOG_CONFIG_REJECTED,
  count,
  raise,
} from "./status";
import { ST_CONFIG_ID, ST_CONFIG_RESULT } from "./state";
import { requestStatus } from "./uplink";

export const PORT_CONFIG: u32 = 10;
export const RX_CAPACITY: u32 = CONFIG_MAX_BYTES;
export const RESULT_UNKNOWN_PORT: u32 = 255;
export const RX: usize = memory.data(RX_CAPACITY, 4);

/** A downlink of `len` bytes (its true length; at most RX_CAPACITY of them are in RX). */
@inline
export function downlinkReceive(now: u32, fport: u32, len: u32): u32 {
  let result = RESULT_UNKNOWN_PORT;
  let flag = FLAG_DOWNLINK_INVALID;
  if (fport == PORT_CONFIG) {
    result = readConfig(RX, len);
    store<u32>(ST_CONFIG_ID, readConfigId());
    store<u32>(ST_CONFIG_RESULT, result);
    requestStatus();
    if (result == CFG_APPLIED) {
      configApply(now);
      return result;
    }
    flag = result == CFG_OVERSIZED ? FLAG_CONFIG_REJECTED | FLAG_DOWNLINK_INVALID : FLAG_CONFIG_REJECTED;
  }
  raise(flag);
  count(CNT_DOWNLINKS_REJECTED, 1);
  logEvent(LOG_CONFIG_REJECTED, result);
  return result;
}
