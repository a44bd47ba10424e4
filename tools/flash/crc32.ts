// CRC-32/ISO-HDLC (the zlib/PNG CRC) of each uploaded chunk, hw/provisioning-protocol.md §2: reflected
// polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF; check value 0xCBF43926 for "123456789".

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
