// Decoded uplinks → MQTT topics and SensorThings-shaped JSON envelopes. Pure functions only (./README.md).
export {
  DATASTREAMS,
  type DatastreamName,
  type DatastreamSpec,
  type ObservedProperty,
  type OpenDatastream,
  type OperatorDatastream,
  openDatastreamsFor,
  type UnitOfMeasurement,
} from "./datastreams.ts";
export {
  type BatchedObservation,
  batchId,
  buildNodeStatusMessage,
  buildObservationMessages,
  type DeviceInfo,
  datastreamId,
  expandObservations,
  type FeatureOfInterest,
  featureOfInterest,
  formatFcnt,
  type GeoJsonPoint,
  type NodeStatusPayload,
  OBSERVATION_GROUPINGS,
  type ObservationBatch,
  type ObservationEnvelope,
  type ObservationGrouping,
  type ObservationOptions,
  type ObservationTimes,
  observationId,
  type UplinkRef,
} from "./envelope.ts";
export {
  buildDeviceMetadataMessage,
  buildDeviceRemovedMessage,
  buildRadioMetadataMessage,
  type DeviceMetadataPayload,
  type GatewayState,
  type GatewayStatusPayload,
  gatewayStatusPayload,
  type RadioMetadataPayload,
  type RadioUplinkRef,
} from "./metadata.ts";
export { isoMillis, isoSeconds } from "./time.ts";
export {
  createTopics,
  DEFAULT_TOPIC_PREFIX,
  DEFAULT_TOPICS,
  TOPIC_VERSION,
  type TopicScheme,
  topicPrefixProblem,
} from "./topics.ts";
