/**
 * Gateway figures against a real Mosquitto, with the gateway as a real process (`sensornet gateway`):
 * sustained throughput UDP → journal → PUBACK and its CPU and disk cost, plain mqtt.js QoS 1 publishing to
 * the same broker as the baseline, latency at a moderate fixed rate, RSS with a 10,000-device registry,
 * the drain of a 100,000-observation backlog while live traffic flows, and the memory of the gateway as
 * deployed with a full journal against the unit's MemoryMax. How each is measured: the modules
 * gateway-*.ts next to this one. The machine is shared and noisy: rates are medians of 1 s slices, and
 * the ratio to the baseline measured minutes apart in the same run is the figure to compare across runs.
 */
import { BUNDLE, deployedLaunch, readMemoryMaxMb, UNIT } from "../support/deploy.ts";
import { findMosquitto } from "../support/mqtt-broker.ts";
import { benchDrain } from "./gateway-drain.ts";
import { climatePayloadBytes, createFleet, verifyFleetBuilder } from "./gateway-fleet.ts";
import { benchFullJournal } from "./gateway-full-journal.ts";
import { BENCH_BROKER_CONFIG, brokerPid, median, startBenchBroker } from "./gateway-harness.ts";
import { benchLatency } from "./gateway-latency.ts";
import { bareNodeRss, benchMemory } from "./gateway-memory.ts";
import { benchRawMqtt, messagesOfOneFrame, observationsOfFrame } from "./gateway-raw-mqtt.ts";
import { benchThroughput } from "./gateway-throughput.ts";
import { type Bench, type BenchSection, formatTable, round } from "./section.ts";

const TARGET_FRAMES_PER_S = 5000;
const TARGET_RSS_MB = 80;
const TARGET_P99_MS = 50;
const FLEET_SIZE = 10_000;
/** The publisher's default window (gateway/publisher/options.ts); the broker's Receive Maximum is higher. */
const PUBLISHER_WINDOW = 128;

export const benchGateway: Bench = async (ctx) => {
  const section: BenchSection = { metrics: {}, report: [], notes: [] };
  if (findMosquitto() === undefined) {
    if (ctx.ci) throw new Error("mosquitto is required in CI (apt-get install mosquitto)");
    section.notes.push("gateway section skipped: mosquitto not found (apt-get install mosquitto)");
    return section;
  }
  // The memory target applies to the gateway as deployed: fails here, before the long runs, without the bundle.
  const deployed = deployedLaunch();
  const memoryMaxMb = readMemoryMaxMb();
  const deployedEnvironment = Object.entries(deployed.env)
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
  ctx.log(`gateway: ${FLEET_SIZE} devices`);
  const fleet = createFleet(FLEET_SIZE);
  verifyFleetBuilder(fleet);
  const broker = await startBenchBroker();
  const pid = brokerPid(broker.dir);
  try {
    // The baseline runs before and after the gateway's throughput, so that drift on a shared machine
    // weighs on both sides of the ratio; its figure is the median of all slices.
    const rawOptions = {
      url: broker.url,
      brokerPid: pid,
      messages: messagesOfOneFrame(fleet[0]!, 1),
      window: PUBLISHER_WINDOW,
      warmupMs: 1500,
      slices: 6,
      sliceMs: 1000,
    };
    ctx.log("gateway: raw mqtt.js QoS 1 baseline");
    const rawBefore = await benchRawMqtt(rawOptions);
    const throughputOptions = {
      brokerUrl: broker.url,
      brokerPid: pid,
      fleet,
      framesPerDatagram: 8,
      // 32 datagrams of ~1.7 KB fit the default 208 KiB socket buffer; 64 overflowed it.
      window: 32,
      // A gateway that keeps up holds little: about 1,000 frames' messages, within the journal's default
      // memory cache (8 MiB). A long backlog is the drain figure's job.
      maxBacklog: 4000,
      frames: 120_000,
      warmupMs: 5000,
      slices: 15,
      sliceMs: 1000,
      log: ctx.log,
    };
    const tput = await benchThroughput(throughputOptions);
    // The same with the unit's node flags: its V8 heap limit makes the collector work harder under load.
    const tputDeployed = await benchThroughput({ ...throughputOptions, slices: 8, launch: deployed });
    ctx.log("gateway: raw mqtt.js QoS 1 baseline again");
    const rawAfter = await benchRawMqtt(rawOptions);
    const raw = {
      msgsPerS: median([...rawBefore.slices, ...rawAfter.slices]),
      publisherCpuPct: (rawBefore.publisherCpuPct + rawAfter.publisherCpuPct) / 2,
    };
    const latency = await benchLatency({
      brokerUrl: broker.url,
      fleet,
      ratePerS: 200,
      warmupMs: 2000,
      measureMs: 10_000,
      log: ctx.log,
    });
    // Idle means 20 s after the journal emptied: V8's memory reducer looks at the allocation rate every 8 s
    // and hands the heap's free pages back at the first look that finds the process idle, 8–16 s after the
    // load; at 10 s the figure flipped between about 115 and 170 MB from run to run.
    const memoryOptions = { brokerUrl: broker.url, fleet, settleMs: 20_000, log: ctx.log };
    const memory = await benchMemory({ ...memoryOptions, launch: deployed, label: "as deployed" });
    const devEntry = await benchMemory({ ...memoryOptions, label: "developer entry (tsx, no flags)" });
    // What 10,000 devices cost is the difference to the same gateway without any; the bare node process,
    // measured alongside, is the part of both that no code of this project can lower.
    const [noDevices, bareNode] = await Promise.all([
      benchMemory({ ...memoryOptions, fleet: [], launch: deployed, label: "as deployed" }),
      bareNodeRss(deployed, memoryOptions.settleMs),
    ]);
    const drain = await benchDrain({
      broker,
      fleet,
      backlogObservations: 100_000,
      backlogDevices: 1000,
      liveDevices: 100,
      liveRatePerS: 50,
      log: ctx.log,
    });
    // 45,000 frames of 4 messages (~7 KB) pass the default bound of 256 MiB.
    const fullJournal = await benchFullJournal({
      broker,
      fleet,
      frames: 45_000,
      launch: deployed,
      log: ctx.log,
    });

    const ratio = (tput.framesPerS * tput.msgsPerFrame) / raw.msgsPerS;
    Object.assign(section.metrics, {
      "gateway.frames_per_s": round(tput.framesPerS, 0),
      "gateway.frames_per_s_deployed": round(tputDeployed.framesPerS, 0),
      "gateway.cpu_pct_deployed": round(tputDeployed.cpuPct, 1),
      "gateway.messages_per_s": round(tput.ackedMsgsPerS, 0),
      "gateway.messages_per_frame": round(tput.msgsPerFrame, 2),
      "gateway.ingest_frames_per_s": round(tput.ingestFramesPerS, 0),
      "gateway.cpu_pct": round(tput.cpuPct, 1),
      "gateway.main_thread_cpu_pct": round(tput.mainThreadCpuPct, 1),
      "gateway.broker_cpu_pct": round(tput.brokerCpuPct, 1),
      "gateway.raw_mqtt_qos1_per_s": round(raw.msgsPerS, 0),
      "gateway.raw_mqtt_qos1_per_s_before": round(rawBefore.msgsPerS, 0),
      "gateway.raw_mqtt_qos1_per_s_after": round(rawAfter.msgsPerS, 0),
      "gateway.raw_mqtt_cpu_pct": round(raw.publisherCpuPct, 1),
      "gateway.frames_vs_raw_ratio": round(ratio, 3),
      "gateway.rss_mb_10k_devices": round(memory.rssMb, 1),
      "gateway.rss_anon_mb_10k_devices": round(memory.rssAnonMb, 1),
      "gateway.rss_file_mb_10k_devices": round(memory.rssFileMb, 1),
      "gateway.heap_used_mb_10k_devices": round(memory.heapUsedMb, 1),
      "gateway.peak_rss_mb_10k_devices": round(memory.peakRssMb, 1),
      "gateway.rss_mb_0_devices": round(noDevices.rssMb, 1),
      "gateway.rss_anon_mb_0_devices": round(noDevices.rssAnonMb, 1),
      "gateway.rss_file_mb_0_devices": round(noDevices.rssFileMb, 1),
      "gateway.heap_used_mb_0_devices": round(noDevices.heapUsedMb, 1),
      "gateway.rss_mb_per_1k_devices": round((memory.rssMb - noDevices.rssMb) / (FLEET_SIZE / 1000), 2),
      "gateway.rss_mb_bare_node": round(bareNode.rssMb, 1),
      "gateway.rss_file_mb_bare_node": round(bareNode.rssFileMb, 1),
      "gateway.rss_mb_10k_devices_dev_entry": round(devEntry.rssMb, 1),
      "gateway.rss_anon_mb_10k_devices_dev_entry": round(devEntry.rssAnonMb, 1),
      "gateway.rss_file_mb_10k_devices_dev_entry": round(devEntry.rssFileMb, 1),
      "gateway.heap_used_mb_10k_devices_dev_entry": round(devEntry.heapUsedMb, 1),
      "gateway.peak_rss_mb_10k_devices_dev_entry": round(devEntry.peakRssMb, 1),
      "gateway.deployed_node_flags": deployed.nodeArgs.join(" "),
      "gateway.deployed_environment": deployedEnvironment,
      "gateway.rss_mb_under_load": round(tput.rssMb, 1),
      "gateway.latency_p50_ms": round(latency.p50Ms, 1),
      "gateway.latency_p99_ms": round(latency.p99Ms, 1),
      "gateway.latency_max_ms": round(latency.maxMs, 1),
      "gateway.drain_obs_per_s": round(drain.obsPerS, 0),
      "gateway.drain_messages_per_s": round(drain.messagesPerS, 0),
      "gateway.drain_backlog_observations": drain.backlogObservations,
      "gateway.drain_backlog_messages": drain.backlogMessages,
      "gateway.drain_s": round(drain.drainS, 2),
      "gateway.drain_total_acked_per_s": round(drain.totalAckedPerS, 0),
      "gateway.drain_live_latency_p50_ms": round(drain.live.p50Ms, 1),
      "gateway.drain_live_latency_p99_ms": round(drain.live.p99Ms, 1),
      "gateway.full_journal_messages": fullJournal.messages,
      "gateway.full_journal_dropped_by_size": fullJournal.droppedBySize,
      "gateway.full_journal_rss_mb": round(fullJournal.full.rssMb, 1),
      "gateway.full_journal_heap_used_mb": round(fullJournal.full.heapUsedMb, 1),
      "gateway.full_journal_fill_peak_rss_mb": round(fullJournal.fillPeakRssMb, 1),
      "gateway.full_journal_restart_rss_mb": round(fullJournal.restarted.rssMb, 1),
      "gateway.full_journal_drain_peak_rss_mb": round(fullJournal.drainPeakRssMb, 1),
      "gateway.full_journal_drain_s": round(fullJournal.drainS, 1),
      "gateway.disk_bytes_per_frame": round(tput.diskBytesPerFrame, 0),
      "gateway.journal_file_bytes": tput.journalFileBytes,
      "gateway.payload_bytes": round(climatePayloadBytes(), 1),
    });

    const verdict = (ok: boolean) => (ok ? "PASS" : "OVER");
    const targets = {
      frames_per_s: verdict(tput.framesPerS >= TARGET_FRAMES_PER_S),
      frames_per_s_deployed: verdict(tputDeployed.framesPerS >= TARGET_FRAMES_PER_S),
      rss_mb: verdict(memory.rssMb <= TARGET_RSS_MB),
      latency_p99_ms: verdict(latency.p99Ms <= TARGET_P99_MS),
    };
    for (const [k, v] of Object.entries(targets)) section.metrics[`gateway.target.${k}`] = v;

    const f0 = (n: number) => Math.round(n).toLocaleString("en-US");
    const f1 = (n: number) => n.toFixed(1);
    section.report = formatTable(
      ["gateway", "value", "target", ""],
      [
        [
          "frames/s, UDP → journal → PUBACK (median of 1 s; developer entry, default V8 heap)",
          f0(tput.framesPerS),
          "≥ 5,000",
          targets.frames_per_s,
        ],
        [
          "  the same as deployed (bundle, the unit's node flags) / its CPU (%)",
          `${f0(tputDeployed.framesPerS)} / ${f0(tputDeployed.cpuPct)}`,
          "≥ 5,000",
          targets.frames_per_s_deployed,
        ],
        [
          `  messages per frame (temperature, humidity, battery batches: ${observationsOfFrame(rawOptions.messages)} observations; radio)`,
          f1(tput.msgsPerFrame),
          "",
          "",
        ],
        ["  messages PUBACKed/s", f0(tput.ackedMsgsPerS), "", ""],
        [
          "  CPU of the gateway process / its main thread (%)",
          `${f0(tput.cpuPct)} / ${f0(tput.mainThreadCpuPct)}`,
          "",
          "",
        ],
        [
          "  CPU of Mosquitto / of the benchmark (%)",
          `${f0(tput.brokerCpuPct)} / ${f0(tput.benchCpuPct)}`,
          "",
          "",
        ],
        ["raw mqtt.js QoS 1 msgs/s (same broker, window 128, before and after)", f0(raw.msgsPerS), "", ""],
        ["  gateway messages/s ÷ raw msgs/s", ratio.toFixed(3), "", ""],
        [
          "RSS as deployed, 10,000 devices, idle after a frame from each (MB)",
          f1(memory.rssMb),
          "≤ 80",
          targets.rss_mb,
        ],
        [
          "  anonymous / file pages (node binary) / V8 heap used (MB)",
          `${f1(memory.rssAnonMb)} / ${f1(memory.rssFileMb)} / ${f1(memory.heapUsedMb)}`,
          "",
          "",
        ],
        [
          "  the same gateway with no devices / a bare node process, same flags and environment (MB)",
          `${f1(noDevices.rssMb)} / ${f1(bareNode.rssMb)}`,
          "",
          "",
        ],
        [
          "    their file pages (MB): the node binary and shared libraries",
          `${f1(noDevices.rssFileMb)} / ${f1(bareNode.rssFileMb)}`,
          "",
          "",
        ],
        [
          "  10,000 devices cost (MB); left for them under the target",
          `${f1(memory.rssMb - noDevices.rssMb)}; ${f1(TARGET_RSS_MB - noDevices.rssMb)}`,
          "",
          "",
        ],
        ["  the same from the developer entry (tsx, no node flags) (MB)", f1(devEntry.rssMb), "", ""],
        [
          "    anonymous / file pages / V8 heap used (MB)",
          `${f1(devEntry.rssAnonMb)} / ${f1(devEntry.rssFileMb)} / ${f1(devEntry.heapUsedMb)}`,
          "",
          "",
        ],
        [
          "  peak RSS as deployed / from the developer entry (MB)",
          `${f1(memory.peakRssMb)} / ${f1(devEntry.peakRssMb)}`,
          "",
          "",
        ],
        ["  RSS under full load (developer entry) (MB)", f1(tput.rssMb), "", ""],
        ["latency p50 at 200 frames/s (ms, send → last observation message)", f1(latency.p50Ms), "", ""],
        ["latency p99 (ms)", f1(latency.p99Ms), "≤ 50", targets.latency_p99_ms],
        ["drain: backlog observations/s with live traffic", f0(drain.obsPerS), "", ""],
        ["  the same in messages/s", f0(drain.messagesPerS), "", ""],
        [
          `  ${f0(drain.backlogObservations)} observations in ${f0(drain.backlogMessages)} messages drained in (s)`,
          drain.drainS.toFixed(2),
          "",
          "",
        ],
        [
          "  live frames during the drain, latency p50 / p99 (ms)",
          `${f0(drain.live.p50Ms)} / ${f0(drain.live.p99Ms)}`,
          "",
          "",
        ],
        [
          `full journal as deployed, ${f0(fullJournal.messages)} messages (${f0(fullJournal.droppedBySize)} dropped): RSS / V8 heap (MB)`,
          `${f1(fullJournal.full.rssMb)} / ${f1(fullJournal.full.heapUsedMb)}`,
          "",
          "",
        ],
        [
          "  peak RSS filling / after kill -9, restart and drain (MB)",
          `${f1(fullJournal.fillPeakRssMb)} / ${f1(fullJournal.drainPeakRssMb)}`,
          `< ${memoryMaxMb} (MemoryMax)`,
          verdict(Math.max(fullJournal.fillPeakRssMb, fullJournal.drainPeakRssMb) < memoryMaxMb),
        ],
        ["disk bytes written per frame (gateway process)", f0(tput.diskBytesPerFrame), "", ""],
        ["  journal file + WAL at the end of the run (MB)", f1(tput.journalFileBytes / 2 ** 20), "", ""],
      ],
    );
    section.notes.push(
      `broker: Mosquitto with ${BENCH_BROKER_CONFIG.join(", ")}; gateway journal commits every 20 ms, other settings default`,
      `frames: ${f1(climatePayloadBytes())}-byte climate batches (12 samples), 8 per PUSH_DATA, ${FLEET_SIZE} devices`,
      "ratio: all messages the gateway publishes per frame (temperature, humidity and battery batches, radio metadata) vs the raw publisher cycling through the same messages",
      `as deployed: ${deployedEnvironment} node ${deployed.nodeArgs.join(" ")} ${BUNDLE} (Environment= and ExecStart of ${UNIT}); the other parts run the developer entry bin/sensornet.js`,
    );
    if (tput.ranOut) section.notes.push("throughput: the pre-built frames ran out before the last slice");
    if (tput.lostDatagrams > 0 || tput.droppedFrames > 0) {
      section.notes.push(
        `throughput: ${tput.lostDatagrams} datagrams without PUSH_ACK within 5 s (kernel counted ${tput.udpBufferDrops} UDP receive-buffer drops), ${tput.droppedFrames} frames dropped by the gateway`,
      );
    }
    if (latency.missing > 0) section.notes.push(`latency: ${latency.missing} frames incomplete`);
    if (drain.live.missing > 0) section.notes.push(`drain: ${drain.live.missing} live frames incomplete`);
  } finally {
    await broker.dispose();
  }
  return section;
};
