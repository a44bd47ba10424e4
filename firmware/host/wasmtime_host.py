#!/usr/bin/env python3
"""Wasmtime host for the OpenHerz node firmware (hw/host-abi.md), used for conformance.

Runs a scenario JSON (format in firmware/host/scenario.ts) and writes the same trace as the Node reference
host, byte for byte, plus a summary with the fuel (wasm instructions, roughly) that the module consumed:

    python3 firmware/host/wasmtime_host.py --wasm firmware/build/node.wasm scenario.json [--trace out.json]

No JavaScript, no loader: the module gets exactly the two `openherz` imports through a linker.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import wasmtime

U32 = 0xFFFFFFFF
DEFAULT_VALUES = [2000, 5000, 3700]
COUNTER_IDS = 11
MAX_UPLINKS_PER_DRAIN = 64
FUEL = 1 << 62
DEFAULT_WASM = Path(__file__).resolve().parent.parent / "build" / "node.wasm"


def to_i32(x: int) -> int:
    """u32 (or i32) as the signed value wasmtime passes for an i32 parameter."""
    x &= U32
    return x - (1 << 32) if x >= 1 << 31 else x


class Sensors:
    """What sensor_read returns: set by the scenario's `sensors` steps, shared across reboots."""

    def __init__(self) -> None:
        self.values = list(DEFAULT_VALUES)
        self.errors = [0, 0, 0]

    def read(self, channel: int) -> tuple[int, int]:
        if 0 <= channel < 3:
            return self.errors[channel], self.values[channel]
        return 1, 0


class Node:
    """One instance of the module in its own store."""

    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module, sensors: Sensors) -> None:
        self.sensors = sensors
        self.store = wasmtime.Store(engine)
        self.store.set_fuel(FUEL)
        i32 = wasmtime.ValType.i32()
        linker = wasmtime.Linker(engine)
        linker.define_func(
            "openherz", "sensor_read", wasmtime.FuncType([i32, i32], [i32]), self._sensor_read, access_caller=True
        )
        linker.define_func("openherz", "log_event", wasmtime.FuncType([i32, i32], []), lambda code, arg: None)
        instance = linker.instantiate(self.store, module)
        self.exports = instance.exports(self.store)
        memory = self.exports["memory"] if "memory" in self.exports else None
        if not isinstance(memory, wasmtime.Memory):
            raise RuntimeError("the module exports no memory `memory`")
        self.memory = memory
        self.fuel = 0
        self.call("_initialize")

    def _sensor_read(self, caller: wasmtime.Caller, channel: int, out_ptr: int) -> int:
        err, value = self.sensors.read(channel)
        if err == 0:
            self.memory.write(caller, (value & U32).to_bytes(4, "little"), out_ptr & U32)
        return to_i32(err)

    def call(self, name: str, *args: int) -> int:
        """Calls an export with u32 arguments, returns its result as u32; self.fuel = fuel it consumed."""
        try:
            fn = self.exports[name]
        except KeyError:
            raise RuntimeError(f"the module does not export `{name}`") from None
        if not isinstance(fn, wasmtime.Func):
            raise RuntimeError(f"export `{name}` is not a function")
        before = self.store.get_fuel()
        result = fn(self.store, *(to_i32(a) for a in args))
        self.fuel = before - self.store.get_fuel()
        return 0 if result is None else int(result) & U32

    def read(self, ptr: int, length: int) -> bytes:
        return bytes(self.memory.read(self.store, ptr, ptr + length))

    def write(self, ptr: int, data: bytes) -> None:
        self.memory.write(self.store, data, ptr)

    def state(self) -> bytes:
        return self.read(self.call("state_ptr"), self.call("state_size"))

    def samples(self) -> int:
        return self.call("counter", 0) + self.call("counter", 1)


def make_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    # The ABI allows WebAssembly MVP only; refuse modules that need these proposals.
    config.wasm_simd = False
    config.wasm_relaxed_simd = False
    config.wasm_threads = False
    return wasmtime.Engine(config)


def run(scenario: dict[str, Any], wasm: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    engine = make_engine()
    module = wasmtime.Module.from_file(engine, str(wasm))
    sensors = Sensors()
    node = Node(engine, module, sensors)
    entries: list[dict[str, Any]] = []
    ticks = sampled = uplinks = uplink_bytes = 0
    sample_fuel: list[int] = []
    idle_fuel: list[int] = []
    uplink_fuel: list[int] = []
    empty_build_fuel: list[int] = []

    def result(i: int, value: int) -> None:
        entries.append({"step": i, "kind": "result", "value": value})

    for i, step in enumerate(scenario["steps"]):
        op = step["op"]
        if op == "init":
            result(i, node.call("init", step["now"], step["cause"], 0))
        elif op == "radio":
            result(i, node.call("radio_set", step["sf"], step["bw_khz"], step["max_payload"]))
        elif op == "sensors":
            sensors.values = list(step["values"])
            sensors.errors = list(step.get("errors", [0, 0, 0]))
        elif op == "tick":
            before = node.samples()
            entries.append({"step": i, "kind": "tick", "value": node.call("tick", step["now"])})
            tick_fuel = node.fuel
            ticks += 1
            if node.samples() != before:
                sampled += 1
                sample_fuel.append(tick_fuel)
            else:
                idle_fuel.append(tick_fuel)
            for n in range(MAX_UPLINKS_PER_DRAIN + 1):
                if n == MAX_UPLINKS_PER_DRAIN:
                    raise RuntimeError(f"step {i}: more than {n} uplinks in one drain")
                length = node.call("uplink_build", step["now"])
                if length == 0:
                    empty_build_fuel.append(node.fuel)
                    break
                uplink_fuel.append(node.fuel)
                data = node.read(node.call("tx_ptr"), length)
                fport = node.call("uplink_fport")
                entries.append({"step": i, "kind": "uplink", "fport": fport, "hex": data.hex()})
                uplinks += 1
                uplink_bytes += length
                node.call("uplink_done", step["now"], 1)
        elif op == "pulse":
            node.call("pulse", step["ch"], step["t_ms"], step["now"])
        elif op == "downlink":
            data = bytes.fromhex(step["hex"])
            node.write(node.call("rx_ptr"), data[: node.call("rx_cap")])
            result(i, node.call("downlink", step["now"], step["fport"], len(data)))
        elif op == "clock_set":
            node.call("clock_set", step["now"])
        elif op == "reboot":
            saved = node.state()
            node = Node(engine, module, sensors)
            node.write(node.call("state_ptr"), saved)
            result(i, node.call("init", step["now"], step["cause"], 1))
        else:
            raise ValueError(f"step {i}: unknown op {op!r}")

    final = {
        "status": node.call("status"),
        "counters": [node.call("counter", c) for c in range(COUNTER_IDS)],
        "state_seq": node.call("state_seq"),
        "state": node.state().hex(),
    }
    trace = {"name": scenario["name"], "entries": entries, "final": final}
    summary: dict[str, Any] = {
        "host": "wasmtime",
        "ticks": ticks,
        "sampled_ticks": sampled,
        "uplinks": uplinks,
        "uplink_bytes": uplink_bytes,
        "fuel_per_sample": round(sum(sample_fuel) / len(sample_fuel), 1) if sample_fuel else 0,
        "fuel_per_uplink": round(sum(uplink_fuel) / len(uplink_fuel), 1) if uplink_fuel else 0,
        "fuel_max_sample": max(sample_fuel, default=0),
        "fuel_per_idle_tick": round(sum(idle_fuel) / len(idle_fuel), 1) if idle_fuel else 0,
        "fuel_max_idle_tick": max(idle_fuel, default=0),
        "fuel_max_uplink": max(uplink_fuel, default=0),
        "fuel_max_empty_build": max(empty_build_fuel, default=0),
    }
    return trace, summary


def dumps(value: Any) -> str:
    """Compact JSON, the same text as JavaScript's JSON.stringify for these documents."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--wasm", type=Path, default=DEFAULT_WASM, help="firmware module (default: %(default)s)")
    parser.add_argument("--trace", type=Path, help="write host, trace and summary to this JSON file")
    parser.add_argument("scenario", type=Path)
    args = parser.parse_args(argv)
    scenario = json.loads(args.scenario.read_text(encoding="utf-8"))
    try:
        trace, summary = run(scenario, args.wasm)
    except (wasmtime.WasmtimeError, wasmtime.Trap, RuntimeError, ValueError) as err:
        print(f"wasmtime_host: {args.scenario}: {err}", file=sys.stderr)
        return 1
    if args.trace is not None:
        text = f'{{"host":"wasmtime","trace":{dumps(trace)},"summary":{dumps(summary)}}}\n'
        args.trace.write_text(text, encoding="utf-8")
    print(dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
