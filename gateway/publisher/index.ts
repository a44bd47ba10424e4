// The gateway's MQTT session (./README.md).
export { type BackoffOptions, backoffCeilingMs, backoffDelayMs, DEFAULT_BACKOFF } from "./backoff.ts";
export type {
  Announcement,
  MessageSource,
  MqttProtocolVersion,
  PublisherOptions,
  SourceMessage,
  TlsFiles,
} from "./options.ts";
export { MqttPublisher, type PublisherEvents, type PublisherState } from "./publisher.ts";
