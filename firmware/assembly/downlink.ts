// Downlinks (hw/host-abi.md downlink): configuration on FPort 10, acknowledged by the next status uplink.
import { CFG_APPLIED, CFG_OVERSIZED, readConfig, readConfigId } from "./cbor-config-reader";
import { configApply } from "./config";
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
export const RX_CAPACITY: u32 = 64;
export const RESULT_UNKNOWN_PORT: u32 = 255;
export const RX: usize = memory.data(RX_CAPACITY, 4);


/** A downlink of `len` bytes (its true length; at most RX_CAPACITY of them are in RX). */
export function downlinkReceive(now: u32, fport: u32, len: u32): u32 {
  if (fport != PORT_CONFIG) {
    reject(RESULT_UNKNOWN_PORT, FLAG_DOWNLINK_INVALID);
    return RESULT_UNKNOWN_PORT;
  }
  let result = len > RX_CAPACITY ? CFG_OVERSIZED : readConfig(RX, len);
  store<u32>(ST_CONFIG_ID, result == CFG_OVERSIZED ? 0 : readConfigId());
  store<u32>(ST_CONFIG_RESULT, result);
  requestStatus();
  if (result == CFG_APPLIED) configApply(now);
  else reject(result, result == CFG_OVERSIZED ? FLAG_CONFIG_REJECTED | FLAG_DOWNLINK_INVALID : FLAG_CONFIG_REJECTED);
  return result;
}

function reject(result: u32, flag: u32): void {
  raise(flag);
  count(CNT_DOWNLINKS_REJECTED, 1);
  logEvent(LOG_CONFIG_REJECTED, result);
}
