// The node simulator as a library (tools/sim/README.md): virtual nodes running the real firmware, a virtual
// LoRaWAN MAC and radio channel, Semtech UDP packet forwarders, faults, ground truth. `sensornet sim` and
// test/support/testbed.ts are thin layers over it.
export {
  DutyCycle,
  EU868_SUB_BANDS,
  EU868_UPLINK_CHANNELS_MHZ,
  offTimeMs,
  type SubBand,
  subBandOf,
} from "./duty-cycle.ts";
export { corruptFrame, type Fault } from "./faults.ts";
export {
  Fleet,
  type FleetOptions,
  type FleetStats,
  type ForwarderSetup,
  type FrameListener,
} from "./fleet.ts";
export {
  autoSf,
  type BikeSpec,
  DEFAULT_ORIGIN,
  DEFAULT_START_S,
  describeFleet,
  type FleetSpec,
  type FleetSpecOptions,
  type KindMix,
  kindOf,
  NODE_KINDS,
  type NodeKind,
  type NodeSpec,
  type SiteSpec,
  toLatLon,
} from "./fleet-spec.ts";
export { FrameOrder } from "./frame-order.ts";
export {
  type AbpSession,
  buildDataUplink,
  type MacState,
  type Transmission,
  type TransmitResult,
  VirtualMac,
} from "./lorawan-mac.ts";
export { type Measurement, type MeasureOptions, measureNodeDaysPerSecond } from "./measure.ts";
export {
  type ForwarderStats,
  type ForwarderTarget,
  PacketForwarder,
  type PacketForwarderOptions,
} from "./packet-forwarder.ts";
export { provisioningConfig, registryEntry, registryFile, writeRegistry } from "./provisioning.ts";
export {
  DEFAULT_PATH_LOSS,
  DEFAULT_TX_POWER_DBM,
  distanceM,
  noiseFloorDbm,
  type PathLossModel,
  type Position,
  pathLossDb,
  RadioChannel,
  type Reception,
  rangeM,
  SENSITIVITY_DBM,
  sensitivityDbm,
  snrDb,
} from "./radio-channel.ts";
export { type ProgressContext, progressLine, truthLines } from "./report.ts";
export { concentratorTmst, isoMicros, rxpkOf } from "./rxpk.ts";
export { type EventHandle, parseSpeed, Scheduler, type SchedulerOptions, type Speed } from "./scheduler.ts";
export {
  type ClimateSampleTruth,
  type FrameTruth,
  type Heard,
  type NodeTruth,
  type RiderTruth,
  Truth,
} from "./truth.ts";
export { type NodeStats, VirtualNode } from "./virtual-node.ts";
