// The self-contained demo (`npm start`, `sensornet demo`): embedded broker, in-process gateway, simulated
// fleet and a live terminal view (./README.md). cli/demo.ts is a thin layer over it.
export {
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  STANDARD_MQTT_PORT,
  startEmbeddedBroker,
} from "./broker.ts";
export { type Demo, type DemoOptions, metric, startDemo } from "./demo.ts";
export { type Duration, parseDuration } from "./duration.ts";
export { type BikeBin, type BrokerCounts, LiveState, type NodeLive, type Reading } from "./live-state.ts";
export { LiveView, type LiveViewOptions } from "./live-view.ts";
export { LogTail } from "./log-tail.ts";
export { type Monitor, startMonitor } from "./monitor.ts";
export {
  type BrokerInfo,
  type DemoSnapshot,
  type GatewayFigures,
  introLines,
  type NodeRow,
  nodeTable,
  plainSummary,
  renderScreen,
  type SubscribeHints,
  simClock,
  speedText,
  subscribeCommands,
  wallClock,
} from "./view.ts";
