/**
 * A minimal reader of the WebAssembly binary format (core spec §5) for the module checks: the sections, the
 * memory limits, and every instruction of the code section with its immediates skipped exactly, so an
 * opcode is never confused with an immediate byte.
 */

export interface MemoryLimits {
  initial: number;
  maximum: number | undefined;
}

export interface ModuleScan {
  sections: Map<number, Uint8Array>;
  memories: MemoryLimits[];
  /** Instruction counts by name ("memory.grow", "0xfc:10", "f32", …), for the instructions of interest. */
  instructions: Map<string, number>;
}

const SECTION_MEMORY = 5;
const SECTION_CODE = 10;

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
  ) {}

  byte(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw new Error("unexpected end of module");
    return b;
  }

  /** A LEB128 number; for signed immediates only its length matters here. */
  leb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
    }
  }

  skip(n: number): void {
    this.pos += n;
  }
}

export function scanModule(bytes: Uint8Array): ModuleScan {
  const r = new Reader(bytes, 8);
  const sections = new Map<number, Uint8Array>();
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.leb();
    sections.set(id, bytes.subarray(r.pos, r.pos + size));
    r.skip(size);
  }
  return {
    sections,
    memories: readMemories(sections.get(SECTION_MEMORY)),
    instructions: readCode(sections.get(SECTION_CODE)),
  };
}

function readMemories(section: Uint8Array | undefined): MemoryLimits[] {
  if (!section) return [];
  const r = new Reader(section);
  return Array.from({ length: r.leb() }, () => {
    const flags = r.byte();
    const initial = r.leb();
    return { initial, maximum: flags & 1 ? r.leb() : undefined };
  });
}

// Opcode classes of the MVP (core spec §5.4), by their immediates.
const NO_IMMEDIATE = new Set([0x00, 0x01, 0x05, 0x0b, 0x0f, 0x1a, 0x1b]);
const BLOCK = new Set([0x02, 0x03, 0x04]);
const ONE_INDEX = new Set([0x0c, 0x0d, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xd2]);
const FLOAT_OPS: [number, number][] = [
  [0x2a, 0x2b], // f32/f64 loads
  [0x38, 0x39], // f32/f64 stores
  [0x43, 0x44], // f32/f64 const
  [0x5b, 0x66], // float comparisons
  [0x8b, 0xa6], // float arithmetic
  [0xa8, 0xab], // i32.trunc_f32/f64 (0xac, 0xad: i64.extend_i32 are integer)
  [0xae, 0xbf], // the other conversions and reinterpretations involving floats
];

function isFloat(op: number): boolean {
  return FLOAT_OPS.some(([lo, hi]) => op >= lo && op <= hi);
}

function nameOf(op: number): string | undefined {
  if (op === 0x40) return "memory.grow";
  if (op >= 0xc0 && op <= 0xc4) return "sign-extension";
  if (isFloat(op)) return "float";
  if (op === 0x11) return "call_indirect";
  return undefined;
}

function readCode(section: Uint8Array | undefined): Map<string, number> {
  const found = new Map<string, number>();
  const note = (name: string) => found.set(name, (found.get(name) ?? 0) + 1);
  if (!section) return found;
  const r = new Reader(section);
  const bodies = r.leb();
  for (let f = 0; f < bodies; f++) {
    const size = r.leb();
    const end = r.pos + size;
    const localGroups = r.leb();
    for (let g = 0; g < localGroups; g++) {
      r.leb();
      r.byte();
    }
    while (r.pos < end) {
      const op = r.byte();
      const name = nameOf(op);
      if (name) note(name);
      if (NO_IMMEDIATE.has(op) || (op >= 0x45 && op <= 0xc4) || op === 0xd1) continue;
      if (BLOCK.has(op)) {
        const type = r.bytes[r.pos] ?? 0;
        if (type === 0x40 || (type >= 0x6f && type <= 0x7f)) r.skip(1);
        else r.leb();
      } else if (ONE_INDEX.has(op)) r.leb();
      else if (op === 0x0e) {
        const targets = r.leb();
        for (let i = 0; i <= targets; i++) r.leb();
      } else if (op === 0x11) {
        r.leb();
        r.leb();
      } else if (op === 0x1c) {
        const n = r.leb();
        r.skip(n);
      } else if (op >= 0x28 && op <= 0x3e) {
        r.leb();
        r.leb();
      } else if (op === 0x3f || op === 0x40) r.byte();
      else if (op === 0x41 || op === 0x42) r.leb();
      else if (op === 0x43) r.skip(4);
      else if (op === 0x44) r.skip(8);
      else if (op === 0xd0) r.byte();
      else if (op === 0xfc || op === 0xfd || op === 0xfe) {
        // Prefixed proposals (bulk memory, saturating conversions, SIMD, threads): none may appear.
        note(`0x${op.toString(16)}:${r.leb()}`);
        return found;
      } else throw new Error(`unknown opcode 0x${op.toString(16)} in function ${f}`);
    }
  }
  return found;
}
