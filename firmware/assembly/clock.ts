// Times are u32 seconds on the host's clock, compared by their wrapping difference: a time held from before a
// clock restart may lie "before zero" (hw/host-abi.md "Time"), and any difference under 68 years is exact.

/** Seconds from `from` to `to`, or 0 if `to` is not later. */
export function secondsBetween(from: u32, to: u32): u32 {
  return i32(to - from) > 0 ? to - from : 0;
}

@inline
export function isBefore(a: u32, b: u32): bool {
  return i32(a - b) < 0;
}
