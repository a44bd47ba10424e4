// Abort handler (asconfig.json `use: abort=…`): an internal invariant violation traps instead of importing
// `env.abort`; the host treats the trap like a watchdog reset (hw/host-abi.md "The module").
export function trap(message: usize, fileName: usize, line: u32, column: u32): void {
  unreachable();
}
