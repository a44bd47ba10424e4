// The module's exports: exactly the host ABI of hw/host-abi.md "Exports", nothing else.
import "./fault";
import { RX, RX_CAPACITY, downlinkReceive } from "./downlink";
import { clockStep, nodeInit, nodeTick, touch } from "./lifecycle";
import { binsPulse } from "./bike-bins";
import { TX } from "./payload";
import { ringCount } from "./ring";
import { STATE, STATE_SIZE, ST_BIKE_RING, ST_CLIMATE_RING, stateCommit, stateSeq } from "./state";
import { CNT_BINS_PENDING, CNT_CLIMATE_PENDING, FW_VERSION, counter as storedCounter, flags } from "./status";
import { builtFPort, radioSet, uplinkBuild, uplinkDone } from "./uplink";

const ABI_VERSION: u32 = 1;

// No static initialisation: `_initialize` (asconfig.json exportStart) has nothing to do. Until `init` the
// state region is all zero, which no call can trap on: every divisor taken from it is clamped to at least 1.

export function abi_version(): u32 {
  return ABI_VERSION;
}

export function fw_version(): u32 {
  return FW_VERSION;
}

export function state_ptr(): usize {
  return STATE;
}

export function state_size(): u32 {
  return STATE_SIZE;
}

export function state_seq(): u32 {
  return stateSeq();
}

export function init(now_s: u32, reset_cause: u32, restored: u32): u32 {
  let result = nodeInit(now_s, reset_cause, restored != 0);
  stateCommit();
  return result;
}

export function clock_set(new_now_s: u32): void {
  clockStep(new_now_s);
  stateCommit();
}

export function radio_set(sf: u32, bw_khz: u32, max_payload: u32): u32 {
  let result = radioSet(sf, bw_khz, max_payload);
  stateCommit();
  return result;
}

export function tick(now_s: u32): u32 {
  let wake = nodeTick(now_s);
  stateCommit();
  return wake;
}

export function pulse(channel: u32, t_ms: u32, now_s: u32): void {
  touch(now_s);
  binsPulse(channel, t_ms, now_s);
  stateCommit();
}

export function uplink_build(now_s: u32): u32 {
  touch(now_s);
  let len = uplinkBuild(now_s);
  stateCommit();
  return len;
}

export function uplink_fport(): u32 {
  return builtFPort();
}

export function uplink_done(now_s: u32, sent: u32): void {
  touch(now_s);
  uplinkDone(now_s, sent != 0);
  stateCommit();
}

export function tx_ptr(): usize {
  return TX;
}

export function rx_ptr(): usize {
  return RX;
}

export function rx_cap(): u32 {
  return RX_CAPACITY;
}

export function downlink(now_s: u32, fport: u32, len: u32): u32 {
  touch(now_s);
  let result = downlinkReceive(now_s, fport, len);
  stateCommit();
  return result;
}

export function status(): u32 {
  return flags();
}

export function counter(id: u32): u32 {
  if (id == CNT_CLIMATE_PENDING) return ringCount(ST_CLIMATE_RING);
  if (id == CNT_BINS_PENDING) return ringCount(ST_BIKE_RING);
  return id < CNT_CLIMATE_PENDING ? storedCounter(id) : 0;
}
