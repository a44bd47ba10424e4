/**
 * Cayenne Low Power Payload encoder for the comparison workload in the benchmark: what a typical node sends
 * instead of OpenHerz CBOR batches. Format: github.com/myDevicesIoT/CayenneLPP (README, "Data Types"):
 * each item is channel (1 byte), type (1 byte, IPSO object id − 3200), value big-endian.
 *
 *   type 0x02 analog input  2 bytes, 0.01 signed
 *   type 0x67 temperature   2 bytes, 0.1 °C signed
 *   type 0x68 humidity      1 byte,  0.5 %RH unsigned
 *
 * Lossy by design: 0.01 °C and 0.01 %RH readings are rounded to 0.1 °C and 0.5 %RH.
 */

export const LPP_ANALOG_INPUT = 0x02;
export const LPP_TEMPERATURE = 0x67;
export const LPP_RELATIVE_HUMIDITY = 0x68;

export interface LppClimateReading {
  /** Air temperature in 0.01 °C. */
  temperatureCenti: number;
  /** Relative humidity in 0.01 %RH. */
  humidityCenti: number;
  /** Battery voltage in mV, sent as an analog input in volts. */
  batteryMv: number;
}

export interface LppChannels {
  temperature: number;
  humidity: number;
  battery: number;
}

const DEFAULT_CHANNELS: LppChannels = { temperature: 1, humidity: 2, battery: 3 };

/** Bytes of one T + H + battery uplink: (2 + 2) + (2 + 1) + (2 + 2). */
export const LPP_CLIMATE_BYTES = 11;

/** Integer division rounding half away from zero, so that −0.05 °C and +0.05 °C round symmetrically. */
function divRound(value: number, divisor: number): number {
  const q = Math.round(Math.abs(value) / divisor);
  return value < 0 ? -q : q;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function checkChannel(channel: number): void {
  if (!Number.isInteger(channel) || channel < 0 || channel > 255) {
    throw new RangeError(`LPP channel must be 0..255, got ${channel}`);
  }
}

/** Temperature item (4 bytes) from 0.01 °C; saturates at the int16 range (±3276.7 °C). */
export function lppTemperature(channel: number, centiC: number): Uint8Array {
  checkChannel(channel);
  const v = clamp(divRound(centiC, 10), -32768, 32767);
  return Uint8Array.of(channel, LPP_TEMPERATURE, (v >> 8) & 0xff, v & 0xff);
}

/** Relative humidity item (3 bytes) from 0.01 %RH; saturates at 0..127.5 %. */
export function lppHumidity(channel: number, centiPercent: number): Uint8Array {
  checkChannel(channel);
  const v = clamp(divRound(centiPercent, 50), 0, 255);
  return Uint8Array.of(channel, LPP_RELATIVE_HUMIDITY, v);
}

/** Analog input item (4 bytes) in units of 0.01, from a value given in thousandths (e.g. mV → V). */
export function lppAnalogInput(channel: number, milli: number): Uint8Array {
  checkChannel(channel);
  const v = clamp(divRound(milli, 10), -32768, 32767);
  return Uint8Array.of(channel, LPP_ANALOG_INPUT, (v >> 8) & 0xff, v & 0xff);
}

/** One Cayenne LPP uplink with temperature, humidity and battery voltage: 11 bytes. */
export function encodeLppClimate(
  reading: LppClimateReading,
  channels: LppChannels = DEFAULT_CHANNELS,
): Uint8Array {
  const out = new Uint8Array(LPP_CLIMATE_BYTES);
  out.set(lppTemperature(channels.temperature, reading.temperatureCenti), 0);
  out.set(lppHumidity(channels.humidity, reading.humidityCenti), 4);
  out.set(lppAnalogInput(channels.battery, reading.batteryMv), 7);
  return out;
}
