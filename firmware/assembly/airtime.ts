// LoRa time on air in integer maths (Semtech AN1200.13, as fixed by hw/host-abi.md "Airtime"): preamble 8,
// explicit header, CRC on, coding rate 4/5, low-data-rate optimisation at SF11/SF12 on 125 kHz.

/** LoRaWAN overhead around FRMPayload: MHDR, DevAddr, FCtrl, FCnt, FPort, MIC (no FOpts). */
const MAC_OVERHEAD: u32 = 13;

/** Milliseconds on air (rounded up) of an uplink carrying `payloadLen` bytes of FRMPayload. */
export function airtimeMs(payloadLen: u32, sf: u32, bwKhz: u32): u32 {
  let lowDataRate: u32 = sf >= 11 && bwKhz == 125 ? 1 : 0;
  // 8·PL − 4·SF + 28 + 16·CRC − 20·IH; always positive for PL ≥ 13.
  let bits = 8 * (MAC_OVERHEAD + payloadLen) + 44 - 4 * sf;
  let perBlock = 4 * (sf - 2 * lowDataRate);
  let payloadSymbols = 8 + ((bits + perBlock - 1) / perBlock) * 5;
  let symbolUs = ((1 as u32) << sf) * 1000 / bwKhz;
  // (8 + 4.25) preamble symbols + payload symbols, in quarter symbols to stay integral.
  return (symbolUs * (49 + 4 * payloadSymbols) / 4 + 999) / 1000;
}
