import { describe, expect, it } from "vitest";
import { LORAWAN_DROP_REASONS } from "../../../../gateway/lorawan/uplink-decoder.ts";
import { createGatewayMetrics } from "../../../../gateway/ops/metrics.ts";

/** The value of one sample line, e.g. value(text, 'openherz_gateway_frames_dropped_total{reason="udp_bad_json"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("gateway metrics", () => {
  it("exports every series, zero before anything happened", async () => {
    const m = createGatewayMetrics({ knownDropReasons: LORAWAN_DROP_REASONS, version: "0.1.0" });
    const text = await m.metricsText();
    const zero = [
      'openherz_gateway_frames_received_total{source="udp"}',
      'openherz_gateway_frames_received_total{source="serial"}',
      "openherz_gateway_frames_accepted_total",
      'openherz_gateway_frames_dropped_total{reason="lorawan_bad_mic"}',
      "openherz_gateway_frames_duplicate_total",
      "openherz_gateway_fcnt_gaps_total",
      "openherz_gateway_fcnt_missed_frames_total",
      "openherz_gateway_messages_journaled_total",
      'openherz_gateway_journal_dropped_total{reason="size"}',
      'openherz_gateway_journal_dropped_total{reason="age"}',
      "openherz_gateway_mqtt_published_total",
      "openherz_gateway_mqtt_acked_total",
      "openherz_gateway_mqtt_connected",
      "openherz_gateway_mqtt_reconnects_total",
      "openherz_gateway_publish_latency_milliseconds_count",
      "openherz_gateway_clock_synced",
    ];
    for (const series of zero) expect(value(text, series), series).toBe(0);
    expect(value(text, 'openherz_gateway_build_info{version="0.1.0"}')).toBe(1);
    expect(value(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(text).toContain("# TYPE openherz_gateway_publish_latency_milliseconds histogram");
    expect(m.contentType).toMatch(/^text\/plain/);
  });

  it("counts through the typed functions", async () => {
    const m = createGatewayMetrics({ processMetrics: false });
    m.frameReceived("udp");
    m.frameReceived("udp");
    m.frameReceived("serial");
    m.frameAccepted();
    m.frameDropped("udp_bad_json");
    m.frameDropped("lorawan_replay");
    m.frameDropped("lorawan_replay");
    m.frameDropped("payload_Bad Label!" as "payload_x");
    m.duplicate();
    m.fcntGap(3);
    m.fcntGap(0);
    m.messagesJournaled(4);
    m.published(5);
    m.acked();
    m.mqttConnected(true);
    m.mqttReconnect();
    m.publishLatencyMs(7);
    m.publishLatencyMs(70);
    m.clockSynced(true);
    m.forwardersSeen(2);
    const text = await m.metricsText();
    const expected: Array<[string, number]> = [
      ['openherz_gateway_frames_received_total{source="udp"}', 2],
      ['openherz_gateway_frames_received_total{source="serial"}', 1],
      ["openherz_gateway_frames_accepted_total", 1],
      ['openherz_gateway_frames_dropped_total{reason="udp_bad_json"}', 1],
      ['openherz_gateway_frames_dropped_total{reason="lorawan_replay"}', 2],
      ['openherz_gateway_frames_dropped_total{reason="other"}', 1],
      ["openherz_gateway_frames_duplicate_total", 1],
      ["openherz_gateway_fcnt_gaps_total", 2],
      ["openherz_gateway_fcnt_missed_frames_total", 3],
      ["openherz_gateway_messages_journaled_total", 4],
      ["openherz_gateway_mqtt_published_total", 5],
      ["openherz_gateway_mqtt_acked_total", 1],
      ["openherz_gateway_mqtt_connected", 1],
      ["openherz_gateway_mqtt_reconnects_total", 1],
      ["openherz_gateway_publish_latency_milliseconds_count", 2],
      ["openherz_gateway_publish_latency_milliseconds_sum", 77],
      ['openherz_gateway_publish_latency_milliseconds_bucket{le="10"}', 1],
      ['openherz_gateway_publish_latency_milliseconds_bucket{le="100"}', 2],
      ["openherz_gateway_clock_synced", 1],
      ["openherz_gateway_forwarders_seen", 2],
    ];
    for (const [series, v] of expected) expect(value(text, series), series).toBe(v);
    expect(value(text, "openherz_gateway_last_frame_timestamp_seconds")).toBeCloseTo(Date.now() / 1000, -1);
    expect(text).not.toContain("process_resident_memory_bytes");
  });

  it("takes journal snapshots at scrape time and turns totals into counter increases", async () => {
    const m = createGatewayMetrics({ processMetrics: false });
    let stats = { messages: 10, bytes: 2000, droppedBySize: 3, droppedByAge: 0, fileBytes: 8192 };
    m.onScrape(() => m.observeJournal(stats));
    m.onScrape(() => {
      throw new Error("a broken hook does not break the scrape");
    });
    let text = await m.metricsText();
    expect(value(text, "openherz_gateway_journal_messages")).toBe(10);
    expect(value(text, "openherz_gateway_journal_bytes")).toBe(2000);
    expect(value(text, "openherz_gateway_journal_file_bytes")).toBe(8192);
    expect(value(text, 'openherz_gateway_journal_dropped_total{reason="size"}')).toBe(3);

    stats = { ...stats, messages: 4, droppedBySize: 5, droppedByAge: 1 };
    text = await m.metricsText();
    expect(value(text, "openherz_gateway_journal_messages")).toBe(4);
    expect(value(text, 'openherz_gateway_journal_dropped_total{reason="size"}')).toBe(5);
    expect(value(text, 'openherz_gateway_journal_dropped_total{reason="age"}')).toBe(1);

    // The journal was reopened: its totals restart at 0, the counter keeps growing.
    stats = { ...stats, droppedBySize: 2, droppedByAge: 0 };
    text = await m.metricsText();
    expect(value(text, 'openherz_gateway_journal_dropped_total{reason="size"}')).toBe(7);
    expect(value(text, 'openherz_gateway_journal_dropped_total{reason="age"}')).toBe(1);
  });

  it("uses a registry of its own", async () => {
    const a = createGatewayMetrics({ processMetrics: false });
    const b = createGatewayMetrics({ processMetrics: false });
    a.frameAccepted();
    expect(value(await a.metricsText(), "openherz_gateway_frames_accepted_total")).toBe(1);
    expect(value(await b.metricsText(), "openherz_gateway_frames_accepted_total")).toBe(0);
  });
});
