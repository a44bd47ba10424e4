// The technician's flashing tool as a library (tools/flash/README.md, hw/provisioning-protocol.md). The CLI,
// `sensornet flash`, is a thin layer over it. The simulated device lives in ./simulated/ and is not exported
// here: flashing a real node never loads the simulator.
export {
  type Answer,
  type ClientOptions,
  commandName,
  FlashClient,
  SLOW_COMMAND_MS,
} from "./client.ts";
export { crc32 } from "./crc32.ts";
export {
  DIALOUT_HINT,
  FLASH_EXIT_CODES,
  FLASH_EXIT_HELP,
  FlashError,
  type FlashErrorKind,
  openError,
  RESUME_NOTE,
  TIMEOUT_HINT,
} from "./errors.ts";
export { keyCheckValue } from "./kcv.ts";
export { type LineEvent, LineSplitter } from "./lines.ts";
export { type FirmwareImage, inspectFirmware, readFirmware, sha256Hex } from "./module-info.ts";
export {
  buildConfig,
  ConfigInputError,
  parseConfigEntries,
  parseSensors,
  SENSOR_BITS,
  type SensorName,
} from "./node-config.ts";
export {
  type ChoosePortOptions,
  candidatesOf,
  chipOf,
  choosePort,
  listFromSysfs,
  listSerialPorts,
  type PortCandidate,
  type PortInfo,
  USB_SERIAL_CHIPS,
  type UsbSerialChip,
} from "./ports.ts";
export * from "./protocol.ts";
export {
  checkCompatible,
  type DeviceSnapshot,
  decideUpload,
  describePlan,
  inspectDevice,
  type ProvisionEvents,
  type ProvisionPlan,
  type ProvisionReport,
  provision,
  SUPPORTED_BOARDS,
  type UploadDecision,
} from "./provision.ts";
export {
  addToRegistry,
  checkConflicts,
  EntryInputError,
  randomDevAddr,
  randomKey,
  registryDevice,
  registryDevices,
} from "./registry-entry.ts";
export {
  describeNode,
  formatFailure,
  formatPortList,
  formatSelfTest as formatSelfTestReport,
  formatSummary,
  type SummaryInput,
  selfTestWarnings,
} from "./report.ts";
export { type LineTransport, openSerialTransport, type SerialOptions } from "./serial-transport.ts";
export { type UploadImage, type UploadOptions, type UploadResult, uploadModule } from "./upload.ts";
