// OpenHerz Sensornet payload codec, format version 1 (shared/PAYLOAD.md), in the LoRaWAN Payload Codec API
// shape for The Things Network v3 and ChirpStack v4: paste this file as the device's JavaScript formatter.
//
// Plain ES5 with its own small CBOR reader, so that it runs in every codec engine. It mirrors the reference
// decoder in shared/payload/ (same data, same error messages, same checks in the same order); the tests in
// test/unit/payload/ hold the two together with shared/vectors/.
//
//   decodeUplink({ bytes, fPort })   FPort 1 climate batch, 2 bicycle counts, 3 node status
//   decodeDownlink({ bytes, fPort }) FPort 10 configuration
//   encodeDownlink({ data })         configuration { cfgId, climateIntervalMin, ... } -> FPort 10 bytes

var OpenHerzPayload = (function () {
  "use strict";

  var U32_MAX = 4294967295;
  var MAX_DEPTH = 16;
  var MAX_CONFIG_BYTES = 64;
  var TEMPERATURE = { min: -4000, max: 8500 };
  var HUMIDITY = { min: 0, max: 10000 };
  var BATTERY = { min: 0, max: 6000 };

  var RESET_CAUSES = ["power-on", "brown-out", "watchdog", "software", "external-pin", "other"];
  var FLAG_NAMES = [
    "temperature-sensor-error", "humidity-sensor-error", "temperature-out-of-range", "humidity-out-of-range",
    "temperature-stuck", "humidity-stuck", "battery-invalid", "state-invalid-at-boot", "data-dropped",
    "airtime-exhausted", "config-rejected", "downlink-rejected", "bike-noise", "temperature-alert",
    "radio-invalid"
  ];
  var CONFIG_RESULTS = [
    "applied", "malformed", "unknown-key", "out-of-range", "oversized", "inconsistent", "wrong-type",
    "cfg-id-missing", "duplicate-key"
  ];
  // [key, name, field, min, max, nullable, range text if not min..max]
  var CONFIG_KEYS = [
    [0, "cfg_id", "cfgId", 1, 65535, false],
    [1, "sensors", "sensors", 0, 3, false],
    [2, "climate_interval_min", "climateIntervalMin", 1, 60, false],
    [3, "climate_latency_s", "climateLatencyS", 60, 86400, false],
    [4, "bike_latency_s", "bikeLatencyS", 300, 86400, false],
    [5, "t_offset", "tOffset", -1000, 1000, false],
    [6, "h_offset", "hOffset", -2000, 2000, false],
    [7, "alert_t_high", "alertTHigh", -4000, 8500, true],
    [8, "alert_t_low", "alertTLow", -4000, 8500, true],
    [9, "status_interval_s", "statusIntervalS", 3600, 604800, false],
    [10, "airtime_budget_ms", "airtimeBudgetMs", 1000, 600000, false],
    [11, "tube_spacing_mm", "tubeSpacingMm", 100, 5000, false],
    [12, "speed_min_kmh", "speedMinKmh", 1, 60, false],
    [13, "speed_max_kmh", "speedMaxKmh", 5, 100, false],
    [14, "debounce_ms", "debounceMs", 1, 500, false],
    [15, "stuck_count", "stuckCount", 0, 255, false, "0, 3..255"],
    [16, "bike_bin_s", "bikeBinS", 300, 3600, false, "300..3600 dividing 86400"]
  ];

  function PayloadError(message, code) {
    this.name = "PayloadError";
    this.message = message;
    this.code = code;
  }

  function isInt(v) {
    return typeof v === "number" && Math.floor(v) === v && isFinite(v);
  }

  function formatInt(v) {
    if (Math.abs(v) <= 9007199254740991) return String(v);
    return v > 0 ? "2^53 or more" : "-2^53 or less";
  }

  function plural(count, noun) {
    return count + " " + noun + (count === 1 ? "" : "s");
  }

  function hex2(b) {
    return (b < 16 ? "0" : "") + b.toString(16);
  }

  function headKind(major, ai) {
    switch (major) {
      case 0:
      case 1:
        return "an integer";
      case 2:
        return "a byte string";
      case 3:
        return "a text string";
      case 4:
        return "an array";
      case 5:
        return "a map";
      case 6:
        return "a tagged item";
    }
    if (ai === 20 || ai === 21) return "a boolean";
    if (ai === 22) return "null";
    if (ai === 23) return "undefined";
    if (ai >= 25 && ai <= 27) return "a floating-point number";
    return "a simple value";
  }

  // The same walk as shared/payload/cbor-scan.ts: one item filling `bytes`, heads visited in byte order.
  function walkCbor(bytes, fail, visit) {
    var len = bytes.length;
    if (len === 0) fail("empty payload");
    var remaining = [];
    var counter = [];
    var pos = 0;
    for (;;) {
      var offset = pos;
      if (pos >= len) fail("the CBOR item is truncated");
      var initial = bytes[pos];
      pos += 1;
      var major = initial >> 5;
      var ai = initial & 31;
      if ((ai >= 28 && ai <= 30) || (ai === 31 && (major < 2 || major > 5))) {
        fail("invalid CBOR initial byte 0x" + hex2(initial) + " at byte " + offset);
      }
      if (ai === 31) fail("indefinite length at byte " + offset + " (not allowed)");
      var arg = ai;
      if (ai >= 24) {
        var size = 1 << (ai - 24);
        if (pos + size > len) fail("the CBOR item is truncated");
        arg = 0;
        for (var i = 0; i < size; i++) arg = arg * 256 + bytes[pos + i];
        pos += size;
      }
      var depth = remaining.length;
      visit({ offset: offset, end: pos, major: major, ai: ai, arg: arg, depth: depth,
        index: depth === 0 ? 0 : counter[depth - 1] });
      var children = 0;
      if (major === 2 || major === 3) {
        if (arg > len - pos) fail("the CBOR item is truncated");
        pos += arg;
      } else if (major === 4) {
        children = arg;
      } else if (major === 5) {
        children = arg * 2;
      } else if (major === 6) {
        children = 1;
      }
      if (children > len - pos) fail("the CBOR item is truncated");
      if (children > 0) {
        remaining.push(children);
        counter.push(0);
        continue;
      }
      for (;;) {
        var top = remaining.length - 1;
        if (top < 0) {
          if (pos < len) fail(plural(len - pos, "trailing byte") + " after the CBOR item");
          return;
        }
        counter[top] += 1;
        remaining[top] -= 1;
        if (remaining[top] > 0) break;
        remaining.pop();
        counter.pop();
      }
    }
  }

  function Bytes(data) {
    this.data = data;
  }

  function describe(v) {
    if (typeof v === "number") return formatInt(v);
    if (v === null) return "null";
    if (v instanceof Bytes) return "a byte string";
    if (Object.prototype.toString.call(v) === "[object Array]") return "an array";
    return "an unexpected value";
  }

  function isArray(v) {
    return Object.prototype.toString.call(v) === "[object Array]";
  }

  // Checks of one message kind, as Fields in shared/payload/fields.ts.
  function Fields(context) {
    this.context = context;
    var self = this;
    this.fail = function (message) {
      throw new PayloadError(self.context + ": " + message);
    };
  }

  Fields.prototype.int = function (name, v, min, max) {
    if (typeof v !== "number") this.fail(name + " must be an integer, got " + describe(v));
    if (v < min || v > max) this.fail(name + " is " + formatInt(v) + ", outside " + min + ".." + max);
    return v;
  };

  Fields.prototype.intOrNull = function (name, v, min, max) {
    if (v === null) return null;
    if (typeof v !== "number") this.fail(name + " must be an integer or null, got " + describe(v));
    return this.int(name, v, min, max);
  };

  Fields.prototype.bytes = function (name, v) {
    if (!(v instanceof Bytes)) this.fail(name + " must be a byte string, got " + describe(v));
    return v.data;
  };

  Fields.prototype.array = function (name, v) {
    if (!isArray(v)) this.fail(name + " must be an array, got " + describe(v));
    return v;
  };

  Fields.prototype.version = function (v) {
    if (typeof v !== "number") this.fail("version must be an integer, got " + describe(v));
    if (v !== 1) this.fail("unknown format version " + formatInt(v) + " (this decoder reads version 1)");
  };

  Fields.prototype.message = function (v, lengths) {
    if (!isArray(v)) this.fail("expected an array, got " + describe(v));
    if (v.length === 0) this.fail("the array is empty, expected the format version first");
    this.version(v[0]);
    if (lengths.indexOf(v.length) < 0) {
      this.fail("expected " + lengths.join(" or ") + " elements, got " + v.length);
    }
    return v;
  };

  // Walks an uplink as scanUplink does and builds its value: numbers, null, Bytes, arrays.
  function readUplink(bytes, f) {
    var root;
    var open = [];
    var topIsArray = false;
    var version;
    var forbidden;
    walkCbor(bytes, f.fail, function (h) {
      if (h.major === 6) f.fail("CBOR tag at byte " + h.offset + " (not allowed)");
      if (h.depth >= MAX_DEPTH) f.fail("CBOR nesting deeper than " + MAX_DEPTH + " levels at byte " + h.offset);
      if (h.depth === 0) topIsArray = h.major === 4;
      if (h.depth === 1 && h.index === 0 && topIsArray && h.major <= 1) {
        version = h.major === 0 ? h.arg : -1 - h.arg;
      }
      var allowed = h.major <= 2 || h.major === 4 || (h.major === 7 && h.ai === 22);
      if (!allowed && forbidden === undefined) {
        forbidden = headKind(h.major, h.ai) + " at byte " + h.offset +
          " (uplinks contain only integers, null, byte strings and arrays)";
      }
      var value = null;
      if (h.major === 0) value = h.arg;
      else if (h.major === 1) value = -1 - h.arg;
      else if (h.major === 2) value = new Bytes(slice(bytes, h.end, Math.min(h.end + h.arg, bytes.length)));
      else if (h.major === 4 || h.major === 5) value = []; // a map's items land here; it is forbidden anyway
      open.length = h.depth;
      if (h.depth === 0) root = value;
      else open[h.depth - 1].push(value);
      open.push(value);
    });
    if (version !== undefined) f.version(version);
    if (forbidden !== undefined) f.fail(forbidden);
    return root;
  }

  function slice(bytes, start, end) {
    var out = [];
    for (var i = start; i < end; i++) out.push(bytes[i]);
    return out;
  }

  function pow2(n) {
    return Math.pow(2, n);
  }

  function bitOf(value, bit) {
    return Math.floor(value / pow2(bit)) % 2;
  }

  function BitReader(bytes, start) {
    this.bytes = bytes;
    this.position = start;
    this.length = bytes.length * 8;
  }

  BitReader.prototype.bit = function () {
    var p = this.position;
    this.position += 1;
    return (this.bytes[p >> 3] >> (7 - (p & 7))) & 1;
  };

  BitReader.prototype.rice = function (k) {
    var q = 0;
    for (;;) {
      if (this.position >= this.length) return undefined;
      if (this.bit() === 0) break;
      q += 1;
    }
    if (this.position + k > this.length) return undefined;
    var low = 0;
    for (var i = 0; i < k; i++) low = low * 2 + this.bit();
    return q * pow2(k) + low;
  };

  function unzigzag(z) {
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  function validSlots(f, name, mask, n) {
    if (mask > pow2(n) - 1) f.fail(name + " has bits set beyond slot " + (n - 1));
    var slots = [];
    for (var i = 0; i < n; i++) if (bitOf(mask, i) === 0) slots.push(i);
    return slots;
  }

  function checkFirst(f, name, maskName, what, first, valid, n) {
    if (first === null && valid > 0) {
      f.fail(name + " is null but " + maskName + " leaves " + valid + " of " + n + " slots with " + what);
    }
    if (first !== null && valid === 0) f.fail(name + " is set but " + maskName + " marks all " + n + " slots missing");
  }

  // a / b truncated toward zero, for integers with b > 0, as truncDiv in shared/payload/trend.ts.
  function truncDiv(a, b) {
    return (a - (a % b)) / b;
  }

  // The canonical slope of PAYLOAD.md "Trend and residuals", as canonicalSlope in shared/payload/trend.ts.
  function canonicalSlope(slots, values) {
    var m = values.length;
    if (m < 2) return 0;
    return truncDiv(values[m - 1] - values[0], slots[m - 1] - slots[0]);
  }

  var TEMPERATURE_CHANNEL = { name: "temperature", slopeName: "t_slope", min: TEMPERATURE.min, max: TEMPERATURE.max };
  var HUMIDITY_CHANNEL = { name: "humidity", slopeName: "h_slope", min: HUMIDITY.min, max: HUMIDITY.max };
  var T_SLOPE_MAX = TEMPERATURE.max - TEMPERATURE.min;
  var H_SLOPE_MAX = HUMIDITY.max - HUMIDITY.min;

  function readChannel(f, reader, k, c, first, slope, slots, n) {
    var values = [];
    var valid = [];
    for (var i = 0; i < n; i++) values.push(null);
    if (first !== null) {
      var v = first;
      values[slots[0]] = v;
      valid.push(v);
      for (var j = 1; j < slots.length; j++) {
        var z = reader.rice(k);
        if (z === undefined) {
          f.fail("residual block ends after " + (j - 1) + " of " + (slots.length - 1) + " " + c.name + " residuals");
        }
        v += slope * (slots[j] - slots[j - 1]) + unzigzag(z);
        if (v < c.min || v > c.max) {
          f.fail(c.name + " of slot " + slots[j] + " is " + v + ", outside " + c.min + ".." + c.max);
        }
        values[slots[j]] = v;
        valid.push(v);
      }
    }
    var canonical = canonicalSlope(slots, valid);
    if (slope !== canonical) {
      var why = valid.length >= 2 ? "trunc of mean change per slot" : "fewer than 2 valid " + c.name + " values";
      f.fail(c.slopeName + " is " + slope + ", expected " + canonical + " (" + why + ")");
    }
    return values;
  }

  function decodeClimate(value, f) {
    var a = f.message(value, [10, 12]);
    var n = f.int("n", a[1], 1, 32);
    var intervalMin = f.int("interval_min", a[2], 1, 60);
    var ageS = f.int("age_s", a[3], 0, U32_MAX);
    var t0 = f.intOrNull("t0", a[4], TEMPERATURE.min, TEMPERATURE.max);
    var h0 = f.intOrNull("h0", a[5], HUMIDITY.min, HUMIDITY.max);
    var tSlope = f.int("t_slope", a[6], -T_SLOPE_MAX, T_SLOPE_MAX);
    var hSlope = f.int("h_slope", a[7], -H_SLOPE_MAX, H_SLOPE_MAX);
    var block = f.bytes("residuals", a[8]);
    var batteryMv = f.intOrNull("battery_mV", a[9], BATTERY.min, BATTERY.max);
    var tMissing = 0;
    var hMissing = 0;
    if (a.length === 12) {
      tMissing = f.int("t_missing", a[10], 0, U32_MAX);
      hMissing = f.int("h_missing", a[11], 0, U32_MAX);
      if (tMissing === 0 && hMissing === 0) f.fail("t_missing and h_missing are both 0 and must be omitted");
    }
    var tSlots = validSlots(f, "t_missing", tMissing, n);
    var hSlots = validSlots(f, "h_missing", hMissing, n);
    checkFirst(f, "t0", "t_missing", "a temperature", t0, tSlots.length, n);
    checkFirst(f, "h0", "h_missing", "a humidity", h0, hSlots.length, n);

    if (block.length === 0) f.fail("residuals is empty, expected at least the byte of Rice parameters");
    var reader = new BitReader(block, 8);
    var t = readChannel(f, reader, block[0] >> 4, TEMPERATURE_CHANNEL, t0, tSlope, tSlots, n);
    var h = readChannel(f, reader, block[0] & 15, HUMIDITY_CHANNEL, h0, hSlope, hSlots, n);
    var end = Math.ceil(reader.position / 8);
    while (reader.position < end * 8) {
      if (reader.bit() !== 0) f.fail("nonzero padding bits at the end of the residual block");
    }
    if (block.length > end) {
      var extra = block.length - end;
      f.fail("residual block has " + (extra === 1 ? "1 extra byte" : extra + " extra bytes") + " after the residuals");
    }

    var intervalS = 60 * intervalMin;
    var samples = [];
    for (var i = 0; i < n; i++) {
      samples.push({
        index: i,
        secondsBeforeUplink: ageS + (n - 1 - i) * intervalS,
        temperatureC: t[i] === null ? null : t[i] / 100,
        humidityPct: h[i] === null ? null : h[i] / 100
      });
    }
    return {
      kind: "climate",
      version: 1,
      intervalMin: intervalMin,
      intervalS: intervalS,
      ageS: ageS,
      tSlope: tSlope / 100,
      hSlope: hSlope / 100,
      batteryMv: batteryMv,
      samples: samples
    };
  }

  function decodeBike(value, f) {
    var a = f.message(value, [4]);
    var binS = f.int("bin_s", a[1], 300, 3600);
    if (86400 % binS !== 0) f.fail("bin_s is " + binS + ", which does not divide 86400");
    var ageS = f.int("age_s", a[2], 0, U32_MAX);
    var counts = f.array("counts", a[3]);
    if (counts.length < 2 || counts.length > 64 || counts.length % 2 !== 0) {
      f.fail("counts has " + counts.length + " elements, expected 2*n with n = 1..32");
    }
    var n = counts.length / 2;
    var bins = [];
    for (var i = 0; i < n; i++) {
      var ab = f.int("counts[" + 2 * i + "]", counts[2 * i], 0, U32_MAX);
      var ba = f.int("counts[" + (2 * i + 1) + "]", counts[2 * i + 1], 0, U32_MAX);
      bins.push({
        index: i,
        startSecondsBeforeUplink: ageS + (n - i) * binS,
        endSecondsBeforeUplink: ageS + (n - 1 - i) * binS,
        ab: ab,
        ba: ba
      });
    }
    return { kind: "bike", version: 1, binS: binS, ageS: ageS, bins: bins };
  }

  function flagNames(flags) {
    var names = [];
    for (var bit = 0; bit < 32; bit++) {
      if (bitOf(flags, bit) === 1) names.push(bit < FLAG_NAMES.length ? FLAG_NAMES[bit] : "bit-" + bit);
    }
    return names;
  }

  function decodeStatus(value, f) {
    var a = f.message(value, [10]);
    var fw = f.int("fw_version", a[1], 0, 16777215);
    var uptimeS = f.int("uptime_s", a[2], 0, U32_MAX);
    var reset = f.int("reset_cause", a[3], 0, RESET_CAUSES.length - 1);
    var batteryMv = f.intOrNull("battery_mV", a[4], BATTERY.min, BATTERY.max);
    var flags = f.int("flags", a[5], 0, U32_MAX);
    var cfgId = f.int("cfg_id", a[6], 0, 65535);
    var cfgResult = f.int("cfg_result", a[7], 0, CONFIG_RESULTS.length - 1);
    var dropped = f.int("dropped", a[8], 0, U32_MAX);
    var noisePulses = f.int("noise_pulses", a[9], 0, U32_MAX);
    return {
      kind: "status",
      version: 1,
      fwVersion: (fw >> 16) + "." + ((fw >> 8) & 255) + "." + (fw & 255),
      uptimeS: uptimeS,
      resetCause: RESET_CAUSES[reset],
      batteryMv: batteryMv,
      flags: flags,
      flagNames: flagNames(flags),
      cfgId: cfgId,
      cfgResult: cfgResult,
      cfgResultName: CONFIG_RESULTS[cfgResult],
      dropped: dropped,
      noisePulses: noisePulses
    };
  }

  var UPLINKS = {
    1: { context: "climate batch", decode: decodeClimate },
    2: { context: "bike batch", decode: decodeBike },
    3: { context: "node status", decode: decodeStatus }
  };

  function decodeUplinkBytes(fport, bytes) {
    var kind = Object.prototype.hasOwnProperty.call(UPLINKS, fport) ? UPLINKS[fport] : undefined;
    if (kind === undefined) {
      throw new PayloadError(fport === 10
        ? "FPort 10 carries configuration downlinks, not uplinks"
        : "unknown FPort " + fport + " (uplinks use 1 climate, 2 bike, 3 status)");
    }
    var f = new Fields(kind.context);
    return kind.decode(readUplink(bytes, f), f);
  }

  // Configuration downlinks: the one pass of PAYLOAD.md "Checking a configuration", as read() in
  // shared/payload/config.ts.
  function configError(message, code) {
    return new PayloadError("configuration: " + message, code);
  }

  function configKey(key) {
    for (var i = 0; i < CONFIG_KEYS.length; i++) if (CONFIG_KEYS[i][0] === key) return CONFIG_KEYS[i];
    return undefined;
  }

  function configLabel(key) {
    var k = configKey(key);
    return k === undefined ? "key " + formatInt(key) : "key " + k[0] + " (" + k[1] + ")";
  }

  function outOfRange(k, v) {
    if (v < k[3] || v > k[4]) return true;
    if (k[2] === "stuckCount") return !(v === 0 || v >= 3);
    if (k[2] === "bikeBinS") return 86400 % v !== 0;
    return false;
  }

  function readConfig(bytes) {
    var len = bytes.length;
    if (len > MAX_CONFIG_BYTES) {
      throw configError(len + " bytes, more than the " + MAX_CONFIG_BYTES + " a node accepts", 4);
    }
    var pos = 0;
    var bad = "";
    function head() {
      if (pos >= len) {
        bad = len === 0 ? "empty payload" : "the CBOR item is truncated";
        return undefined;
      }
      var initial = bytes[pos];
      var h = { major: initial >> 5, ai: initial & 31, arg: initial & 31 };
      if (h.ai > 27) {
        bad = "invalid or indefinite-length CBOR head 0x" + hex2(initial) + " at byte " + pos;
        return undefined;
      }
      pos += 1;
      if (h.ai >= 24) {
        var size = 1 << (h.ai - 24);
        if (pos + size > len) {
          bad = "the CBOR item is truncated";
          return undefined;
        }
        h.arg = 0;
        for (var i = 0; i < size; i++) h.arg = h.arg * 256 + bytes[pos + i];
        pos += size;
      }
      return h;
    }

    var map = head();
    if (map === undefined) throw configError(bad, 1);
    if (map.major !== 5) throw configError("expected a map, got " + headKind(map.major, map.ai), 1);
    var seen = {};
    var found = {};
    var semantic;
    for (var entry = 0; entry < map.arg; entry++) {
      var keyAt = pos;
      var k = head();
      if (k === undefined) throw configError(bad, 1);
      if (k.major !== 0) {
        throw configError("the key at byte " + keyAt + " is " + headKind(k.major, k.ai) + ", not an unsigned integer", 1);
      }
      var key = k.arg;
      var v = head();
      if (v === undefined) throw configError(bad, 1);
      var value;
      if (v.major === 0) value = v.arg;
      else if (v.major === 1) value = -1 - v.arg;
      else if (v.major === 7 && v.ai === 22) value = null;
      else throw configError(configLabel(key) + " must be an integer or null, got " + headKind(v.major, v.ai), 6);
      if (Object.prototype.hasOwnProperty.call(seen, key)) throw configError(configLabel(key) + " appears twice", 8);
      seen[key] = true;
      if (semantic !== undefined) continue;
      var spec = configKey(key);
      if (spec === undefined) {
        semantic = configError(configLabel(key) + " is unknown", 2);
      } else if (value === null && !spec[5]) {
        semantic = configError(configLabel(key) + " must be an integer, got null", 6);
      } else if (value !== null && outOfRange(spec, value)) {
        semantic = configError(configLabel(key) + " is " + formatInt(value) + ", outside " +
          (spec[6] || spec[3] + ".." + spec[4]), 3);
      } else {
        found[key] = value;
      }
    }
    if (pos < len) throw configError(plural(len - pos, "trailing byte") + " after the map", 1);
    if (semantic !== undefined) throw semantic;
    if (!Object.prototype.hasOwnProperty.call(found, 0)) throw configError("cfg_id (key 0) is missing", 7);
    var patch = {};
    for (var j = 0; j < CONFIG_KEYS.length; j++) {
      if (Object.prototype.hasOwnProperty.call(found, CONFIG_KEYS[j][0])) {
        patch[CONFIG_KEYS[j][2]] = found[CONFIG_KEYS[j][0]];
      }
    }
    return patch;
  }

  function checkConsistency(c) {
    if (c.speedMinKmh !== undefined && c.speedMaxKmh !== undefined && c.speedMinKmh >= c.speedMaxKmh) {
      throw configError("speed_min_kmh " + c.speedMinKmh + " is not below speed_max_kmh " + c.speedMaxKmh, 5);
    }
    var low = c.alertTLow;
    var high = c.alertTHigh;
    if (low !== undefined && low !== null && high !== undefined && high !== null && low >= high) {
      throw configError("alert_t_low " + low + " is not below alert_t_high " + high, 5);
    }
  }

  function decodeConfigBytes(bytes) {
    var patch = readConfig(bytes);
    checkConsistency(patch);
    return { kind: "config", values: patch };
  }

  // Canonical CBOR heads (shortest form), as CborWriter in shared/payload/cbor-write.ts.
  function writeHead(out, major, arg) {
    var m = major << 5;
    if (arg < 24) {
      out.push(m | arg);
    } else if (arg < 256) {
      out.push(m | 24, arg);
    } else if (arg < 65536) {
      out.push(m | 25, arg >> 8, arg & 255);
    } else {
      out.push(m | 26, Math.floor(arg / 16777216) & 255, (arg >> 16) & 255, (arg >> 8) & 255, arg & 255);
    }
  }

  function encodeConfigBytes(data) {
    var patch = data && typeof data.values === "object" && data.values !== null ? data.values : data;
    if (typeof patch !== "object" || patch === null) throw new PayloadError("configuration input: expected an object");
    var names = Object.keys(patch);
    for (var i = 0; i < names.length; i++) {
      var known = false;
      for (var j = 0; j < CONFIG_KEYS.length; j++) if (CONFIG_KEYS[j][2] === names[i]) known = true;
      if (!known) throw new PayloadError("configuration input: unknown field " + names[i]);
    }
    var out = [];
    var count = 0;
    var body = [];
    for (var k = 0; k < CONFIG_KEYS.length; k++) {
      var v = patch[CONFIG_KEYS[k][2]];
      if (v === undefined) continue;
      if (v !== null && (!isInt(v) || Math.abs(v) > U32_MAX)) {
        throw new PayloadError("configuration input: " + CONFIG_KEYS[k][2] + " must be an integer or null, got " + v);
      }
      count += 1;
      writeHead(body, 0, CONFIG_KEYS[k][0]);
      if (v === null) body.push(0xf6);
      else if (v >= 0) writeHead(body, 0, v);
      else writeHead(body, 1, -1 - v);
    }
    writeHead(out, 5, count);
    return out.concat(body);
  }

  function toBytes(input) {
    var bytes = input && input.bytes;
    if (bytes === undefined || bytes === null || typeof bytes.length !== "number") {
      throw new PayloadError("input.bytes is missing");
    }
    return bytes;
  }

  function failure(err) {
    if (err instanceof PayloadError) return { warnings: [], errors: [err.message] };
    throw err;
  }

  return {
    PayloadError: PayloadError,
    decodeUplink: function (input) {
      try {
        return { data: decodeUplinkBytes(input.fPort, toBytes(input)), warnings: [], errors: [] };
      } catch (err) {
        return failure(err);
      }
    },
    decodeDownlink: function (input) {
      try {
        if (input.fPort !== 10) {
          throw new PayloadError("unknown downlink FPort " + input.fPort + " (configuration uses 10)");
        }
        return { data: decodeConfigBytes(toBytes(input)), warnings: [], errors: [] };
      } catch (err) {
        return failure(err);
      }
    },
    encodeDownlink: function (input) {
      try {
        var bytes = encodeConfigBytes(input.data);
        decodeConfigBytes(bytes);
        return { bytes: bytes, fPort: 10, warnings: [], errors: [] };
      } catch (err) {
        return failure(err);
      }
    }
  };
})();

function decodeUplink(input) {
  return OpenHerzPayload.decodeUplink(input);
}

function decodeDownlink(input) {
  return OpenHerzPayload.decodeDownlink(input);
}

function encodeDownlink(input) {
  return OpenHerzPayload.encodeDownlink(input);
}
