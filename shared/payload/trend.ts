// Trend removal of the climate batch (PAYLOAD.md, "Trend and residuals"). Per channel, the valid slots
// p_0 < … < p_(m−1) with values v_0 … v_(m−1):
//   s   = trunc((v_(m−1) − v_0) / (p_(m−1) − p_0)) for m ≥ 2, else 0   (truncated toward zero)
//   r_j = (v_j − v_(j−1)) − s × (p_j − p_(j−1))                         for j = 1 … m−1
// All integers; the firmware computes the same with i32 arithmetic (`/` truncates toward zero there).

/** a / b truncated toward zero, for integers with b > 0 (JS `%` keeps the sign of the dividend). */
export function truncDiv(a: number, b: number): number {
  return (a - (a % b)) / b;
}

/** The canonical slope of one channel from its valid slots and values (same length, slots ascending). */
export function canonicalSlope(slots: readonly number[], values: readonly number[]): number {
  const m = values.length;
  if (m < 2) return 0;
  return truncDiv(values[m - 1]! - values[0]!, slots[m - 1]! - slots[0]!);
}

/** The m − 1 residuals of one channel after removing the slope `s`. */
export function residuals(slots: readonly number[], values: readonly number[], s: number): number[] {
  const out: number[] = [];
  for (let j = 1; j < values.length; j++) {
    out.push(values[j]! - values[j - 1]! - s * (slots[j]! - slots[j - 1]!));
  }
  return out;
}
