// The simulated node for tests and rehearsals (tools/flash/README.md): a virtual node that speaks the USB
// provisioning protocol over a real pseudo-terminal and runs what it is flashed with in the simulator host.
export { DeviceClock } from "./clock.ts";
export {
  type BoardInfo,
  CommandError,
  type DeviceCore,
  type DeviceFaults,
  handleCommand,
  NO_FAULTS,
} from "./commands.ts";
export { type DeviceUplink, SimulatedDevice, type SimulatedDeviceOptions } from "./device.ts";
export { NodeRuntime, type RuntimeHooks, type RuntimeStart } from "./node-runtime.ts";
export { openPtyLink, type PtyLink } from "./pty-link.ts";
export { type DeviceRecord, DeviceStore, otherSlot, type Slot, type SlotRecord } from "./store.ts";
