#!/usr/bin/env python3
"""Run Tern's benchmarks and print their figures and ratio tables.

Benchmarks (not tests: CTest never runs them; `./tern bench NAME` builds first):

  channels  1. on the host: lib/channel's ring against boost::lockfree::spsc_queue
               and a pipe (build/tests/bench/channel_bench, Google Benchmark, two
               threads pinned to two cores, one run): one-way throughput one
               message at a time and in batches, and round-trip latency.
               Goals: ring >= 1.0x boost one at a time; ring batched >= 3x boost
               one at a time.
            2. in the OS: boots the ISO in QEMU (2 cores), runs `run bench-chan`
               in the shell and compares a cross-core round trip through a
               channel with a kernel IPC call/reply, in TSC cycles.
               Goal: the channel >= 10x faster (ratio of the medians).
  ipc       in the OS: `run bench-ipc` (system call, IPC and notification
            costs in TSC cycles; see docs/PERFORMANCE.md).
  net       the network, Tern against a Linux guest booted in the same QEMU
            configuration (2 cores, e1000 on a tap in a private network
            namespace, tools/netns.py): from the namespace, iputils ping flood
            RTT and replies per second with 1 and with 16 requests outstanding,
            and UDP echo (port 7) per second with 32 outstanding and round-trip
            times with 1 (build/tests/bench/udp_echo_client). The Linux guest is
            Debian's linux-image-amd64 kernel with a small initramfs that
            tools/linux_guest.py builds from Debian packages. Prints Tern/Linux
            ratios (for times Linux/Tern: above 1, Tern is better). Needs root.
            Tern's UDP echo is inetd's (started at boot, else with `run inetd`).
  stream    bulk throughput, Tern against the same Linux guest in the same
            QEMU configuration, iperf3-style, one run of --seconds (default 10)
            each: TCP host -> guest (tools/tcp_stream.py sends to discard, port
            9, and waits for the guest's close), TCP guest -> host (reads from
            chargen, port 19), and UDP echo (port 7) of 1472-byte datagrams, 64
            outstanding (udp_echo_client): Mb/s and losses. Tern serves them
            with inetd (at boot, else `run inetd`), Linux with
            tools/linux-guest/stream_server.c and udp_echo.c. --netdev tap (default as root): a tap in a private
            namespace, as net; --netdev user: QEMU's user-mode networking with
            hostfwd ports on 127.0.0.1 (no root). Prints Tern/Linux ratios
            (goal: >= 1.5x) and each guest's counters (Tern: netstat -s and -i;
            Linux: /proc/net/snmp, netstat) before and after.

Logs and raw results go to build/bench-logs/: <program>.log (serial console of
the QEMU run), channels-host.json (Google Benchmark's JSON output), and for net
net-<guest>-serial.log (serial console and QEMU's messages) and
net-<guest>-tools.log (every ping / udp_echo_client command and its output);
for stream the same as stream-<guest>-{serial,tools}.log.

Exit status: 0 when everything ran and was parsed (whether or not a goal was
met: the table says), 1 when a part failed or printed no figures, 2 on a usage
error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
LOG_DIR = BUILD / "bench-logs"
HOST_BINARY = BUILD / "tests" / "bench" / "channel_bench"
BOOT_SCENARIO = ROOT / "tests" / "integration" / "boot_scenario.py"

BENCHMARKS = {
    "channels": "ring vs boost::lockfree::spsc_queue vs pipe on the host, then channel vs IPC in the OS",
    "ipc": "the OS's bench-ipc: system call, IPC call/reply and notification costs",
    "net": "ICMP/UDP echo RTT and packets/s from a netns: Tern vs a Linux guest in the same QEMU (root)",
    "stream": "TCP both ways and UDP echo throughput (iperf3-style): Tern vs a Linux guest in the same QEMU",
}

GOAL_UNBATCHED = 1.0    # ring one at a time / boost one at a time
GOAL_BATCHED = 3.0      # ring batched / boost one at a time
GOAL_CHANNEL_VS_IPC = 10.0



WARNINGS: list[str] = []  # repeated under the goals at the end


class BenchError(Exception):
    """A part of a benchmark failed; the message says what and where to look."""


def _unicode_ok() -> bool:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return encoding == "utf8"


TIMES = "\u00d7" if _unicode_ok() else "x"
AT_LEAST = "\u2265" if _unicode_ok() else ">="


def rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def ratio_text(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}{TIMES}"
    if value >= 10:
        return f"{value:.1f}{TIMES}"
    return f"{value:.2f}{TIMES}"


def verdict(value: float, goal: float) -> str:
    return "met" if value >= goal else "NOT met"


@dataclass
class Goal:
    text: str
    value: Optional[float]  # None: not measured
    goal: float

    def line(self) -> str:
        if self.value is None:
            return f"  {self.text}: not measured (goal {AT_LEAST} {self.goal:g}{TIMES})"
        return f"  {self.text}: {ratio_text(self.value)} (goal {AT_LEAST} {self.goal:g}{TIMES}: {verdict(self.value, self.goal)})"


# --- host part: Google Benchmark JSON -----------------------------------------------

HOST_NAME = re.compile(r"^(throughput/[a-z_]+/(?:un)?batched|roundtrip/[a-z_]+)(?:/|$)")

HOST_ROWS = [  # key, label
    ("throughput/tern_ring/unbatched", "Tern ring, one at a time"),
    ("throughput/tern_ring/batched", "Tern ring, batched"),
    ("throughput/boost_spsc/unbatched", "boost spsc_queue, one at a time"),
    ("throughput/boost_spsc/batched", "boost spsc_queue, batched"),
    ("throughput/pipe/unbatched", "pipe, one at a time"),
    ("throughput/pipe/batched", "pipe, batched"),
]
ROUND_TRIP_ROWS = [
    ("roundtrip/tern_ring", "Tern ring (two rings)"),
    ("roundtrip/boost_spsc", "boost spsc_queue (two queues)"),
    ("roundtrip/pipe", "pipe (two pipes)"),
]


# Below this share of CPU time in wall-clock time, a busy-polling benchmark
# thread was not on its core all the time: something else competed for it.
MIN_ON_CORE = 0.9


# channel_bench measures a cache line's round trip between the two cores before
# and after each benchmark. Under a hypervisor that figure can jump (the host
# moves the virtual CPUs), and every result moves with it: warn when it varies
# by more than this factor within the run.
MAX_LINE_SPREAD = 2.0


@dataclass
class HostResults:
    rates: dict[str, float]          # operations (messages or round trips) per second
    context: dict
    errors: list[str]
    on_core: dict[str, float]        # busy-polling contenders: lowest CPU time / wall-clock time
    line_ns: dict[str, list[float]]  # the cache-line round-trip probes around each benchmark


def parse_host_json(text: str, source: str) -> HostResults:
    """channel_bench's JSON output. With --benchmark_repetitions the median
    aggregate is used."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BenchError(f"{source} is not Google Benchmark JSON: {err}") from None
    rates: dict[str, float] = {}
    medians: dict[str, float] = {}
    errors: list[str] = []
    on_core: dict[str, float] = {}
    line_ns: dict[str, list[float]] = {}
    for entry in data.get("benchmarks", []):
        match = HOST_NAME.match(entry.get("run_name") or entry.get("name", ""))
        if not match:
            continue
        key = match.group(1)
        if entry.get("error_occurred"):
            errors.append(f"{key}: {entry.get('error_message', 'error')}")
            continue
        rate = entry.get("items_per_second")
        if not isinstance(rate, (int, float)) or rate <= 0:
            continue
        if entry.get("run_type") == "aggregate":
            if entry.get("aggregate_name") == "median":
                medians[key] = float(rate)
        else:
            rates.setdefault(key, float(rate))  # first repetition if there is no median
            real, cpu = entry.get("real_time"), entry.get("cpu_time")
            if "/pipe" not in key and isinstance(real, (int, float)) and isinstance(cpu, (int, float)) and real > 0:
                on_core[key] = min(on_core.get(key, 1.0), cpu / real)
            for probe in ("line_rt_ns_before", "line_rt_ns_after"):
                value = entry.get(probe)
                if isinstance(value, (int, float)) and value > 0:
                    line_ns.setdefault(key, []).append(float(value))
    rates.update(medians)
    return HostResults(rates, data.get("context", {}), errors, on_core, line_ns)


def host_table(results: HostResults) -> tuple[str, list[Goal]]:
    rates, context = results.rates, results.context
    batch = context.get("batch", "?")

    def line(key: str) -> str:
        probes = results.line_ns.get(key)
        return f"{sum(probes) / len(probes):.0f}" if probes else "-"

    out = []
    out.append(f"Host: 64-byte messages between two threads pinned to cores {context.get('cores', '?')}, "
               f"capacity {context.get('capacity', '?')} messages, batches of up to {batch}"
               + (f", {context['num_cpus']} CPUs at {context.get('mhz_per_cpu', '?')} MHz" if "num_cpus" in context else ""))
    out.append("")
    out.append("  (line ns: a cache line's round trip between the two cores, probed around each benchmark)")
    out.append("")
    out.append(f"  {'one-way throughput':34} {'Mmsg/s':>9} {'ns/msg':>9} {'line ns':>9}")
    for key, label in HOST_ROWS:
        rate = rates.get(key)
        if key.endswith("/batched"):
            label = f"{label} ({batch})"
        if rate is None:
            out.append(f"  {label:34} {'-':>9} {'-':>9} {line(key):>9}")
        else:
            out.append(f"  {label:34} {rate / 1e6:9.2f} {1e9 / rate:9.1f} {line(key):>9}")
    out.append("")
    out.append(f"  {'round-trip latency':34} {'ns/round trip':>19} {'line ns':>9}")
    for key, label in ROUND_TRIP_ROWS:
        rate = rates.get(key)
        out.append(f"  {label:34} {'-' if rate is None else f'{1e9 / rate:.0f}':>19} {line(key):>9}")

    def ratio(a: str, b: str) -> Optional[float]:
        return rates[a] / rates[b] if a in rates and b in rates else None

    ring1, ringb = "throughput/tern_ring/unbatched", "throughput/tern_ring/batched"
    boost1, boostb = "throughput/boost_spsc/unbatched", "throughput/boost_spsc/batched"
    pipe1, pipeb = "throughput/pipe/unbatched", "throughput/pipe/batched"
    rt_ring, rt_boost, rt_pipe = "roundtrip/tern_ring", "roundtrip/boost_spsc", "roundtrip/pipe"
    rows = [  # text, value, goal (None: for information)
        ("throughput: ring one at a time / boost one at a time", ratio(ring1, boost1), GOAL_UNBATCHED),
        ("throughput: ring batched / boost one at a time", ratio(ringb, boost1), GOAL_BATCHED),
        ("throughput: ring batched / boost batched", ratio(ringb, boostb), None),
        ("throughput: ring one at a time / pipe one at a time", ratio(ring1, pipe1), None),
        ("throughput: ring batched / pipe batched", ratio(ringb, pipeb), None),
        # round trips per second: ring / other = other's latency / ring's latency
        ("round trip: boost latency / ring latency", ratio(rt_ring, rt_boost), None),
        ("round trip: pipe latency / ring latency", ratio(rt_ring, rt_pipe), None),
    ]
    out.append("")
    out.append("  ratios (above 1: the Tern ring is faster)")
    for text, value, goal in rows:
        shown = "-" if value is None else ratio_text(value)
        tail = ""
        if goal is not None:
            tail = f"   goal {AT_LEAST} {goal:g}{TIMES}: " + ("not measured" if value is None else verdict(value, goal))
        out.append(f"  {text:54} {shown:>8}{tail}")
    goals = [
        Goal("host, ring one at a time vs boost spsc_queue one at a time", ratio(ring1, boost1), GOAL_UNBATCHED),
        Goal(f"host, ring batched ({batch}) vs boost spsc_queue one at a time", ratio(ringb, boost1), GOAL_BATCHED),
    ]
    return "\n".join(out), goals


def run_host(args: argparse.Namespace) -> tuple[list[Goal], list[str]]:
    if args.host_json:
        path = Path(args.host_json)
        print(f"== host: reading {rel(path)} (not running the benchmark)", flush=True)
    else:
        if not HOST_BINARY.is_file():
            raise BenchError(f"{rel(HOST_BINARY)} is missing. It needs libbenchmark-dev and libboost-dev: "
                             "run ./tern setup, then ./tern build (./tern bench does both)")
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        path = LOG_DIR / "channels-host.json"
        path.unlink(missing_ok=True)
        cmd = [str(HOST_BINARY), f"--benchmark_out={path}", "--benchmark_out_format=json", *args.extra]
        print(f"== host: {shlex.join([rel(HOST_BINARY), *cmd[1:]])}", flush=True)
        status = subprocess.run(cmd).returncode
        if status != 0:
            raise BenchError(f"{rel(HOST_BINARY)} failed (exit status {status}; see its output above)")
    try:
        text = path.read_text()
    except OSError as err:
        raise BenchError(f"cannot read the host results {rel(path)}: {err.strerror}") from None
    results = parse_host_json(text, rel(path))
    context = results.context
    if not results.rates and not results.errors:
        raise BenchError(f"{rel(path)} holds no channel_bench results")
    table, goals = host_table(results)
    print()
    print(table)
    notes = [f"host benchmark {e}" for e in results.errors]
    probes = [value for values in results.line_ns.values() for value in values]
    if probes and max(probes) > MAX_LINE_SPREAD * min(probes):
        print(f"  WARNING: the cores' cache-line round trip varied from {min(probes):.0f} to {max(probes):.0f} ns "
              "during the run (a hypervisor moving the virtual CPUs does that), so these rows were measured "
              "under different conditions and their ratios mix them. Run again.")
        WARNINGS.append(f"the host's cross-core latency changed during the run ({min(probes):.0f} to "
                        f"{max(probes):.0f} ns): ratios mix conditions (see above)")
    disturbed = {key: share for key, share in results.on_core.items() if share < MIN_ON_CORE}
    if disturbed:
        load = context.get("load_avg") or []
        worst = min(disturbed, key=disturbed.get)
        print(f"  WARNING: another program competed for the cores: the polling benchmark thread was on its core "
              f"only {disturbed[worst]:.0%} of the time in {worst}" + (f" ({len(disturbed)} benchmarks below "
              f"{MIN_ON_CORE:.0%})" if len(disturbed) > 1 else "")
              + (f"; load average {load[0]:.2f} at the start" if load else "")
              + ". These figures are not trustworthy: run again on an idle machine.")
        WARNINGS.append("the host figures are disturbed: another program competed for the cores (see above)")
    if context.get("library_build_type") == "debug":
        print("  (Google Benchmark's \"built as DEBUG\" warning is about Debian's libbenchmark itself; the timed "
              "loops are compiled -O2)")
    print(f"  raw results: {rel(path)}")
    return goals, notes


# --- OS part: serial log of a QEMU run ----------------------------------------------

NUMBER = r"([0-9][0-9,]*)"
CHAN_LINES = {
    "channel": re.compile(r"bench-chan: channel round trip across cores: median " + NUMBER + r" p99 " + NUMBER
                          + r" cycles \(" + NUMBER + r" round trips\)"),
    "ipc": re.compile(r"bench-chan: ipc call/reply across cores: median " + NUMBER + r" p99 " + NUMBER
                      + r" cycles \(" + NUMBER + r" round trips\)"),
}
CHAN_TEXT = {
    "channel": "bench-chan: channel round trip across cores: median N p99 N cycles (N round trips)",
    "ipc": "bench-chan: ipc call/reply across cores: median N p99 N cycles (N round trips)",
}


def clean_lines(raw: str) -> list[str]:
    return [ANSI_ESCAPE.sub("", line).replace("\r", "") for line in raw.split("\n")]


def number(text: str) -> int:
    return int(text.replace(",", ""))


def program_problems(lines: list[str], program: str) -> list[str]:
    """What the log says went wrong with `program`: its FAILED line, the shell's complaint."""
    found = []
    for line in lines:
        if re.search(re.escape(program) + r": FAILED", line):
            found.append(line.strip())
        elif re.search(r"run: (no service|'" + re.escape(program) + r"')", line):
            found.append(line.strip())
        elif re.search(r"EXCEPTION|PANIC", line):
            found.append(line.strip())
    return found


@dataclass
class RoundTrip:
    median: int
    p99: int
    count: int


def parse_chan_log(text: str, source: str) -> dict[str, RoundTrip]:
    """The two bench-chan figures from a serial log; BenchError if one is missing."""
    lines = clean_lines(text)
    figures: dict[str, RoundTrip] = {}
    for key, regex in CHAN_LINES.items():
        for line in lines:
            match = regex.search(line)
            if match:
                figures[key] = RoundTrip(*(number(g) for g in match.groups()))
                break
    missing = [key for key in CHAN_LINES if key not in figures]
    if missing:
        why = [f"bench-chan printed no line of the form\n    {CHAN_TEXT[key]}" for key in missing]
        problems = program_problems(lines, "bench-chan")
        if any("no service" in p for p in problems):
            why.append("the shell could not start it: the ISO has no program 'bench-chan' "
                       "(apps/bench-chan and a line in boot/modules.txt)")
        if problems:
            why.append("the log says:\n" + "\n".join(f"    {p}" for p in problems[:10]))
        raise BenchError(f"{source}: " + "\n  ".join(why))
    for key, rt in figures.items():
        if rt.median <= 0:
            raise BenchError(f"{source}: bench-chan reports a {key} median of {rt.median} cycles")
    if not any(re.search(r"bench-chan: done", line) for line in lines):
        problems = program_problems(lines, "bench-chan")
        raise BenchError(f"{source}: bench-chan printed its figures but not 'bench-chan: done'"
                         + ("; the log says:\n" + "\n".join(f"    {p}" for p in problems[:10]) if problems else ""))
    return figures


def chan_table(figures: dict[str, RoundTrip], accel: str) -> tuple[str, Goal]:
    chan, ipc = figures["channel"], figures["ipc"]
    out = [f"In the OS (bench-chan; QEMU {accel}, 2 cores), TSC cycles per round trip across cores:", ""]
    out.append(f"  {'':38} {'median':>10} {'p99':>10} {'round trips':>12}")
    out.append(f"  {'channel round trip':38} {chan.median:>10} {chan.p99:>10} {chan.count:>12}")
    out.append(f"  {'kernel IPC call/reply':38} {ipc.median:>10} {ipc.p99:>10} {ipc.count:>12}")
    ratio = ipc.median / chan.median
    p99_ratio = ipc.p99 / chan.p99 if chan.p99 > 0 else float("inf")
    out.append("")
    out.append(f"  channel vs ipc: {ratio_text(ratio)} (goal {AT_LEAST} {GOAL_CHANNEL_VS_IPC:g}{TIMES}: "
               f"{verdict(ratio, GOAL_CHANNEL_VS_IPC)})   [ipc median / channel median; p99: {ratio_text(p99_ratio)}]")
    return "\n".join(out), Goal("OS, channel round trip vs IPC call/reply across cores", ratio, GOAL_CHANNEL_VS_IPC)


IPC_ROW = re.compile(r"bench-ipc: (\S.*?\S)\s+([0-9]+)\s+([0-9]+)\s*$")


def parse_ipc_log(text: str, source: str) -> tuple[str, list[tuple[str, int, int]]]:
    lines = clean_lines(text)
    header = next((line[line.index("bench-ipc: core") + len("bench-ipc: "):].strip()
                   for line in lines if "bench-ipc: core" in line), "")
    rows = []
    for line in lines:
        match = IPC_ROW.search(line)
        if match:
            rows.append((match.group(1), int(match.group(2)), int(match.group(3))))
    if not rows or not any(re.search(r"bench-ipc: done", line) for line in lines):
        what = "no figures" if not rows else "its figures but not 'bench-ipc: done'"
        problems = program_problems(lines, "bench-ipc")
        raise BenchError(f"{source}: bench-ipc printed {what}"
                         + ("; the log says:\n" + "\n".join(f"    {p}" for p in problems[:10]) if problems else ""))
    return header, rows


def boot_command(program: str, args: argparse.Namespace) -> list[str]:
    """boot_scenario.py: boot, type `run PROGRAM`, power off once it is done or failed."""
    finished = f"{program}: (done|FAILED)|run: (?!started)"  # program names need no escaping
    return [sys.executable, str(BOOT_SCENARIO), "--name", program, "--smp", "2",
            "--cmdline", "test=processes", "--accel", args.accel, "--timeout", f"{args.timeout:g}",
            "--log-dir", str(LOG_DIR),
            "--send-after", "tern> ", f"run {program}",
            "--send-after", finished, "poweroff",
            "--expect", f"{program}: done", "--reject", f"{program}: FAILED"]


def boot_and_log(program: str, args: argparse.Namespace) -> tuple[str, str, Optional[str]]:
    """Runs `program` in QEMU (or reads --os-log); returns the log text, its name and a boot failure."""
    if args.os_log:
        path = Path(args.os_log)
        print(f"== OS: reading {rel(path)} (not booting)", flush=True)
        try:
            return path.read_text(errors="replace"), rel(path), None
        except OSError as err:
            raise BenchError(f"cannot read {rel(path)}: {err.strerror}") from None
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{program}.log"
    log.unlink(missing_ok=True)
    cmd = boot_command(program, args)
    print(f"== OS: {shlex.join([rel(Path(cmd[1])), *cmd[2:]])}", flush=True)
    status = subprocess.run(cmd).returncode
    failure = None
    if status != 0:
        failure = f"the QEMU run of {program} failed (boot_scenario exit status {status}; see above)"
    try:
        return log.read_text(errors="replace"), rel(log), failure
    except OSError:
        raise BenchError(failure or f"no serial log {rel(log)}") from None


def run_os_channels(args: argparse.Namespace) -> tuple[list[Goal], list[str]]:
    text, source, failure = boot_and_log("bench-chan", args)
    try:
        figures = parse_chan_log(text, source)
    except BenchError as err:
        if failure:
            raise BenchError(f"{failure}\n  {err}") from None
        raise
    table, goal = chan_table(figures, args.accel)
    print()
    print(table)
    print(f"  serial log: {source}")
    return [goal], [failure] if failure else []


def run_os_ipc(args: argparse.Namespace) -> list[str]:
    text, source, failure = boot_and_log("bench-ipc", args)
    try:
        header, rows = parse_ipc_log(text, source)
    except BenchError as err:
        if failure:
            raise BenchError(f"{failure}\n  {err}") from None
        raise
    print()
    print(f"In the OS (bench-ipc; QEMU {args.accel}, 2 cores), TSC cycles" + (f" -- {header}" if header else ""))
    print()
    width = max(len(name) for name, _, _ in rows)
    print(f"  {'':{width}} {'median':>10} {'p99':>10}")
    for name, median, p99 in rows:
        print(f"  {name:{width}} {median:>10} {p99:>10}")
    print(f"  serial log: {source}")
    return [failure] if failure else []


# --- net: Tern against a Linux guest --------------------------------------------------

if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))  # also when bench.py is imported from elsewhere
import netns  # noqa: E402  (tools/netns.py)
import qemu as qemu_tool  # noqa: E402  (tools/qemu.py)
from serial_console import ANSI_ESCAPE, SerialConsole  # noqa: E402  (tools/serial_console.py)
import guest_profile  # noqa: E402  (tools/guest_profile.py)

UDP_CLIENT = BUILD / "tests" / "bench" / "udp_echo_client"
LINUX_GUEST_TOOL = ROOT / "tools" / "linux_guest.py"
LINUX_GUEST_DIR = BUILD / "linux-guest"
NET_GUESTS = ("tern", "linux")
NET_SMP = 2
NET_GUEST_ADDRESS = netns.GUEST_ADDRESS  # on the tap
USER_GUEST_ADDRESS = "10.0.2.15"         # on QEMU's user-mode networking (where hostfwd forwards to)
NET_PREFIX = 24
GUEST_BROKEN = {
    "tern": re.compile(r"EXCEPTION|PANIC"),
    "linux": re.compile(r"linux-guest: FAILED|Kernel panic"),
}
TERN_PROMPT = re.compile(r"^tern> ?$")

WARM_UP_SECONDS = 15        # ping every 100 ms until the first reply, at most this long
FLOOD_COUNT, FLOOD_DEADLINE = 5000, 60
PRELOAD, PRELOAD_COUNT, PRELOAD_DEADLINE = 16, 20000, 30
UDP_WINDOW, UDP_SIZE, UDP_SECONDS = 32, 64, 5.0
UDP_RTT_SECONDS = 3.0
UDP_TIMEOUT_MS = 500
POWEROFF_SECONDS = 15
# Typed after the measurements so that the serial log holds the guest's own
# counters: (command, a regex that shows its output is complete).
GUEST_STATS = {
    "tern": ("netstat -i", re.compile(r"^tern> $")),
    "linux": ("cat /proc/net/dev /proc/net/snmp", re.compile(r"^Udp: \d")),
}
# When more than this share of the host's CPU time is busy just before a guest
# boots, other programs compete with QEMU and the figures are not trustworthy.
BUSY_SHARE = 0.25
# When other programs take more than this share of the host's CPU time while a
# measurement runs, that measurement is flagged.
OTHER_LOAD_SHARE = 0.15


def cpu_times() -> tuple[int, int]:
    """(all, idle) time of all host cores, in clock ticks (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return sum(values), values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait


def host_busy_share(seconds: float = 1.0) -> Optional[float]:
    """The share of all host cores' time spent busy over `seconds` (from /proc/stat)."""
    try:
        total0, idle0 = cpu_times()
        time.sleep(seconds)
        total1, idle1 = cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return 1 - (idle1 - idle0) / total if total > 0 else None


class OtherLoad:
    """How much of the host's CPU time went to programs other than the guest's
    QEMU (`pid`) and our own children (the measuring tool) between creation and
    share(): a measurement taken while that is high is disturbed."""

    def __init__(self, pid: int):
        self.pid = pid
        self.start = self.sample()

    def sample(self) -> Optional[tuple[float, float, float]]:
        try:
            total, idle = cpu_times()
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            qemu = int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, ValueError, IndexError):
            return None
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        tick = os.sysconf("SC_CLK_TCK")
        return total / tick, (total - idle - qemu) / tick, children.ru_utime + children.ru_stime

    def share(self) -> Optional[float]:
        end = self.sample()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        other = (end[1] - self.start[1]) - (end[2] - self.start[2])
        return max(0.0, other / (end[0] - self.start[0]))


@dataclass
class PingResult:
    transmitted: int
    received: int
    duplicates: int
    errors: int
    loss: float      # per cent
    time_ms: int
    rtt_ms: tuple[float, float, float]  # min, avg, max

    @property
    def pps(self) -> float:
        return self.received / (self.time_ms / 1000) if self.time_ms > 0 else 0.0

    def oddities(self) -> str:
        odd = []
        if self.duplicates:
            odd.append(f"+{self.duplicates} duplicate replies")
        if self.errors:
            odd.append(f"+{self.errors} ICMP errors")
        if self.loss > 0:
            odd.append(f"{self.loss:g}% loss ({self.transmitted - self.received} of {self.transmitted})")
        return ", ".join(odd)


PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?"
                          r"(?:, \+(\d+) errors)?, ([0-9.]+)% packet loss, time (\d+)ms")
PING_RTT = re.compile(r"rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)/")


def parse_ping(text: str) -> Optional[PingResult]:
    summary = PING_SUMMARY.search(text)
    if not summary:
        return None
    rtt = PING_RTT.search(text)
    transmitted, received, dups, errors, loss, ms = summary.groups()
    return PingResult(int(transmitted), int(received), int(dups or 0), int(errors or 0), float(loss), int(ms),
                      tuple(float(v) for v in rtt.groups()) if rtt else (0.0, 0.0, 0.0))


@dataclass
class UdpResult:
    fields: dict[str, int]
    pps: float
    rtt_us: tuple[float, float, float, float, float]  # min, avg, p50, p99, max

    def oddities(self) -> str:
        labels = {"lost": "lost", "bad": "BAD (differed from what was sent)", "late": "late", "dup": "duplicated",
                  "refused": "refused (ICMP port unreachable)"}
        return ", ".join(f"{self.fields[key]} {text}" for key, text in labels.items() if self.fields.get(key))


UDP_LINE = re.compile(r"udp_echo: sent (\d+) received (\d+) lost (\d+) bad (\d+) late (\d+) dup (\d+) "
                      r"refused (\d+) window (\d+) size (\d+) seconds ([0-9.]+) pps ([0-9.]+) "
                      r"rtt_us min/avg/p50/p99/max ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+)")


def parse_udp(text: str) -> Optional[UdpResult]:
    match = UDP_LINE.search(text)
    if not match:
        return None
    g = match.groups()
    keys = ("sent", "received", "lost", "bad", "late", "dup", "refused", "window", "size")
    return UdpResult(dict(zip(keys, (int(v) for v in g[:9]))), float(g[10]),
                     tuple(float(v) for v in g[11:16]))


@dataclass
class GuestFigures:
    name: str
    flood: Optional[PingResult] = None
    preload: Optional[PingResult] = None
    udp: Optional[UdpResult] = None
    udp_rtt: Optional[UdpResult] = None
    udp_missing: Optional[str] = None   # why the UDP rows are n/a
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def guest_qemu_command(guest: str, netdev: str, address: str, args: argparse.Namespace) -> list[str]:
    """The same machine for both guests; only what boots differs. `address` is
    the guest's static address (/24)."""
    common = dict(smp=NET_SMP, accel=args.accel, netdev=netdev, serial="stdio")
    if guest == "tern":
        profile = args.profile
        cmdline = f"test=processes ip.ip={address}/{NET_PREFIX}" + (" profile=on" if profile else "")
        if args.cmdline:
            cmdline += " " + args.cmdline
        cmd = qemu_tool.build_command(args.iso, cmdline=cmdline, **common)
        return cmd + (["-monitor", f"unix:{PROFILE_MONITOR},server,nowait"] if profile else [])
    return qemu_tool.build_command(kernel=LINUX_GUEST_DIR / "vmlinuz", initrd=LINUX_GUEST_DIR / "initramfs.cpio.gz",
                                   append=f"console=ttyS0 guest_ip={address}/{NET_PREFIX} panic=-1", **common)


def ready_line(guest: str, address: str) -> re.Pattern:
    if guest == "tern":
        return re.compile(r"ip: eth0: " + re.escape(f"{address}/{NET_PREFIX}") + r" \(static\)")
    return re.compile(r"linux-guest: ready " + re.escape(address) + r"\b")


def net_tool_commands() -> list[tuple[str, list[str], float]]:
    """(what, argv, timeout) of each measurement run in the namespace, in order."""
    client = str(UDP_CLIENT)
    return [
        ("ping flood, 1 outstanding",
         ["ping", "-f", "-q", "-c", str(FLOOD_COUNT), "-w", str(FLOOD_DEADLINE), NET_GUEST_ADDRESS],
         FLOOD_DEADLINE + 15),
        (f"ping flood, {PRELOAD} outstanding",
         ["ping", "-f", "-q", "-l", str(PRELOAD), "-c", str(PRELOAD_COUNT), "-w", str(PRELOAD_DEADLINE),
          NET_GUEST_ADDRESS], PRELOAD_DEADLINE + 15),
        (f"UDP echo, {UDP_WINDOW} outstanding",
         [client, NET_GUEST_ADDRESS, "--window", str(UDP_WINDOW), "--size", str(UDP_SIZE),
          "--duration", f"{UDP_SECONDS:g}", "--timeout", str(UDP_TIMEOUT_MS)], UDP_SECONDS + 30),
        ("UDP echo, 1 outstanding",
         [client, NET_GUEST_ADDRESS, "--window", "1", "--size", str(UDP_SIZE),
          "--duration", f"{UDP_RTT_SECONDS:g}", "--timeout", str(UDP_TIMEOUT_MS)], UDP_RTT_SECONDS + 30),
    ]


def net_unavailable() -> Optional[str]:
    """Why `net` cannot run here (a sentence with the fix), or None."""
    if os.geteuid() != 0:
        return ("./tern bench net needs root: it makes a network namespace with a tap device for each "
                "guest and floods it with ping. Run it as root (e.g. sudo ./tern bench net).")
    reason = netns.unavailable()
    if reason:
        return f"./tern bench net cannot make its network namespace: {reason}"
    try:
        version = subprocess.run(["ping", "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, stdin=subprocess.DEVNULL).stdout
    except OSError:
        version = ""
    if "iputils" not in version:
        return ("./tern bench net needs iputils' ping (Debian package iputils-ping: "
                "apt-get install iputils-ping)")
    return None


class ToolLog:
    def __init__(self, path: Path):
        self.path = path
        path.write_text("")

    def write(self, text: str) -> None:
        with open(self.path, "a") as f:
            f.write(text)


def free_port(proto: str) -> int:
    """A port on 127.0.0.1 that nothing uses right now (for a hostfwd)."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GuestRun:
    """One guest booted for a network benchmark (net, stream), and the host-side
    tools run against it. `kind` "tap": the e1000 on a tap in a private
    namespace (tools/netns.py), tools run inside it and reach the guest at its
    address. "user": QEMU's user-mode networking, each (protocol, guest port)
    of `forwards` forwarded from a free port on 127.0.0.1 (hostfwd); tools run
    here. Methods raise BenchError when something fails; close() always cleans up."""

    def __init__(self, guest: str, bench: str, kind: str = "tap", forwards: Sequence[tuple[str, int]] = ()):
        self.guest = guest
        self.label = "Tern" if guest == "tern" else "Linux"
        self.kind = kind
        self.serial_log = LOG_DIR / f"{bench}-{guest}-serial.log"
        self.tools_log = ToolLog(LOG_DIR / f"{bench}-{guest}-tools.log")
        self.where = f"(serial log {rel(self.serial_log)}, commands and outputs {rel(self.tools_log.path)})"
        self.address = NET_GUEST_ADDRESS if kind == "tap" else USER_GUEST_ADDRESS
        self.forwards = {(proto, port): free_port(proto) for proto, port in forwards} if kind == "user" else {}
        self.net: Optional[netns.TapNetwork] = None
        self.console: Optional[SerialConsole] = None
        self.notes: list[str] = []

    def netdev(self) -> str:
        if self.net is not None:
            return self.net.netdev_option()
        return "user,id=net0" + "".join(f",hostfwd={proto}:127.0.0.1:{host}-:{port}"
                                        for (proto, port), host in self.forwards.items())

    def target(self, proto: str, port: int) -> tuple[str, int]:
        """Where the host's tools reach the guest's `port`."""
        return (self.address, port) if self.kind == "tap" else ("127.0.0.1", self.forwards[(proto, port)])

    def boot(self, args: argparse.Namespace) -> None:
        """Starts QEMU and waits for the guest's ready line."""
        if self.kind == "tap":
            try:
                self.net = netns.TapNetwork.create("tern-bench")
            except netns.NetnsError as err:
                raise BenchError(str(err)) from None
        busy = host_busy_share()
        if busy is not None and busy > BUSY_SHARE:
            self.notes.append(f"WARNING: the host's CPUs were {busy:.0%} busy just before {self.label} booted: other "
                              "programs competed with QEMU, so its figures are disturbed; run again on an idle "
                              "machine")
        cmd = guest_qemu_command(self.guest, self.netdev(), self.address, args)
        argv = self.net.command(cmd) if self.net else cmd
        self.tools_log.write((f"namespace {self.net.namespace}\n" if self.net else "") + f"$ {shlex.join(argv)}\n")
        where = f"in namespace {self.net.namespace}" if self.net else "on user-mode networking"
        print(f"== {self.label}: booting {where}: {shlex.join(cmd)}", flush=True)
        try:
            self.console = SerialConsole(argv, self.serial_log)
        except OSError as err:
            raise BenchError(f"cannot start {argv[0]}: {err}; run ./tern setup") from None
        start = time.monotonic()
        ready = ready_line(self.guest, self.address)
        seen = self.console.wait_for(ready, args.timeout, fail=GUEST_BROKEN[self.guest])
        if not seen.match:
            why = (f"said: {seen.failed}" if seen.failed else "QEMU exited" if self.console.eof else
                   f"no ready line (/{ready.pattern}/) within {args.timeout:g} s")
            raise BenchError(f"did not come up: {why} {self.where}; last lines:\n{self.console.tail()}")
        print(f"   ready after {time.monotonic() - start:.1f} s: {seen.match.group(0)}", flush=True)

    def run(self, what: str, argv: list[str], timeout: float, quiet: bool = False,
            measured: bool = True) -> tuple[int, str]:
        """Runs a host tool against the guest (in the namespace on a tap); its exit status and output.
        `quiet`: not shown on the terminal. `measured`: warns when other programs disturbed it."""
        cmd = self.net.command(argv) if self.net else argv
        self.tools_log.write(f"\n== {what}\n$ {shlex.join(cmd)}\n")
        if not quiet:
            print(f"   {what}: {shlex.join(argv)}", flush=True)
        load = OtherLoad(self.console.proc.pid)
        try:
            result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
            self.tools_log.write(out + f"[killed after {timeout:g} s]\n")
            return -1, out
        other = load.share()
        self.tools_log.write(result.stdout + f"[exit status {result.returncode}; other programs' share of the "
                             f"host's CPU time meanwhile: {'?' if other is None else f'{other:.0%}'}]\n")
        if measured and other is not None and other > OTHER_LOAD_SHARE:
            self.notes.append(f"WARNING: other programs took {other:.0%} of the host's CPU time during {self.label}'s "
                              f"{what}: that figure is disturbed; run again on an idle machine")
        return result.returncode, result.stdout

    def warm_up(self) -> None:
        """Waits until the guest answers: the NIC may hold reception for a moment
        after it is enabled (Tern's does for ~1 s). On a tap: ping every 100 ms
        until the first reply. On user-mode networking (no ping): one UDP echo
        (port 7) at a time until one comes back."""
        if self.kind == "tap":
            _, out = self.run("warm-up", ["ping", "-c", "1", "-i", "0.1", "-w", str(WARM_UP_SECONDS), self.address],
                              WARM_UP_SECONDS + 10, measured=False)
            warm = parse_ping(out)
            if not warm or warm.received == 0:
                raise BenchError(f"never answered ping within {WARM_UP_SECONDS} s {self.where}")
            return
        address, port = self.target("udp", ECHO_PORT)
        probe = [str(UDP_CLIENT), address, "--port", str(port), "--window", "1", "--size", "64",
                 "--duration", "0.5", "--timeout", "100"]
        print(f"   warm-up: {shlex.join(probe)} (until an echo comes back)", flush=True)
        deadline = time.monotonic() + WARM_UP_SECONDS
        while time.monotonic() < deadline:
            result = parse_udp(self.run("warm-up", probe, 10, quiet=True, measured=False)[1])
            if result is not None and result.fields["received"] > 0:
                return
        raise BenchError(f"never answered UDP echo (port 7) within {WARM_UP_SECONDS} s {self.where}")

    def shell(self, command: str, timeout: float = 20.0) -> list[str]:
        """Types `command` into the guest's shell; returns the lines it printed."""
        console = self.console
        if self.guest == "linux":
            # /init runs each line it reads; no prompt, so a marker line ends the output.
            token = f"bench-done-{time.monotonic_ns()}"
            since = console.mark()
            if not console.send(f"{command}; echo {token}"):
                raise BenchError(f"cannot type `{command}` (QEMU gone?)")
            end = console.wait_for(re.compile(f"^{token}$"), timeout, since=since, partial=False)
            if end.index is None:
                raise BenchError(f"`{command}` did not finish within {timeout:g} s {self.where}")
            return [line for line in console.all_lines()[since:end.index] if token not in line]
        # Tern: a fresh prompt first (other processes may have printed after the last one).
        if not console.fresh_prompt(TERN_PROMPT, timeout):
            raise BenchError(f"no prompt for `{command}` within {timeout:g} s {self.where}")
        since = console.mark()
        if not console.send(command):
            raise BenchError(f"cannot type `{command}` (QEMU gone?)")
        echo = console.wait_for(re.compile(re.escape(command) + "$"), timeout, since=since, partial=False)
        end = console.wait_for(TERN_PROMPT, timeout, since=(echo.index or since) + 1)
        if echo.index is None or end.index is None:
            raise BenchError(f"`{command}` did not finish within {timeout:g} s {self.where}")
        return console.all_lines()[echo.index + 1:end.index]

    def power_off(self) -> None:
        self.console.send("poweroff")
        if self.console.exited(POWEROFF_SECONDS) is None:
            self.notes.append(f"{self.label} did not power off within {POWEROFF_SECONDS} s; QEMU was stopped")

    def close(self) -> None:
        if self.console is not None:
            self.console.close()
        if self.net is not None:
            self.net.close()


def measure_guest(guest: str, args: argparse.Namespace) -> GuestFigures:
    """Boots `guest` in its own namespace, measures, powers it off. Never raises
    BenchError: what failed goes into the figures' problems."""
    figures = GuestFigures(guest)
    run = GuestRun(guest, "net")
    label, where = run.label, run.where
    try:
        run.boot(args)
        console = run.console
        run.warm_up()

        (flood_what, flood_cmd, flood_to), (pre_what, pre_cmd, pre_to), udp_cmd, rtt_cmd = net_tool_commands()
        for attr, what, argv, timeout in (("flood", flood_what, flood_cmd, flood_to),
                                          ("preload", pre_what, pre_cmd, pre_to)):
            status, out = run.run(what, argv, timeout)
            result = parse_ping(out)
            if result is None or result.received == 0:
                figures.problems.append(f"{label}: {what}: "
                                        + ("no replies" if result else f"ping printed no summary (status {status})")
                                        + f" {where}")
                continue
            setattr(figures, attr, result)
            if result.oddities():
                figures.notes.append(f"{label}, {what}: {result.oddities()}")

        if guest == "tern":
            try:
                start_inetd(run)
            except BenchError as err:
                figures.udp_missing = f"no UDP echo server in Tern: {err}"
                figures.problems.append(f"Tern: {figures.udp_missing}")
        if figures.udp_missing is None:
            for attr, (what, argv, timeout) in (("udp", udp_cmd), ("udp_rtt", rtt_cmd)):
                status, out = run.run(what, argv, timeout)
                result = parse_udp(out)
                if result is None or result.fields["received"] == 0:
                    reason = ("udp_echo_client printed no result line" if result is None else
                              "no echo came back" + (f" ({result.oddities()})" if result.oddities() else ""))
                    figures.problems.append(f"{label}: {what}: {reason} {where}")
                    continue
                setattr(figures, attr, result)
                if result.oddities():
                    figures.notes.append(f"{label}, {what}: {result.oddities()}")
                if result.fields["bad"]:
                    figures.problems.append(f"{label}: {what}: {result.fields['bad']} echoes differed from what "
                                            f"was sent {where}")

        stats, done = GUEST_STATS[guest]
        mark = console.mark()
        if console.send(stats):
            console.wait_for(done, 10, since=mark)
        run.power_off()
    except BenchError as err:
        figures.problems.append(f"{label}: {err}")
    finally:
        run.close()
        figures.notes[:0] = run.notes
    return figures


def build_linux_guest() -> Optional[str]:
    """Runs tools/linux_guest.py; None when the guest is ready, else the problem."""
    print(f"== Linux guest: {rel(LINUX_GUEST_TOOL)}", flush=True)
    status = subprocess.run([sys.executable, str(LINUX_GUEST_TOOL)], stdin=subprocess.DEVNULL).returncode
    if status != 0:
        return (f"building the Linux guest failed ({rel(LINUX_GUEST_TOOL)} exit status {status}; its message is "
                "above); no Linux figures")
    return None


def linux_guest_version() -> str:
    try:
        record = json.loads((LINUX_GUEST_DIR / "SOURCE").read_text())
        return ", ".join(f"{name} {info['version']}" for name, info in record["packages"].items()
                         if name.startswith("linux-image"))
    except (OSError, ValueError, KeyError, TypeError):
        return "Debian's linux-image-amd64"


@dataclass
class NetRow:
    text: str
    unit: str
    higher_better: bool
    tern: Optional[float]
    linux: Optional[float]

    def ratio(self) -> Optional[float]:
        if self.tern is None or self.linux is None or self.tern <= 0 or self.linux <= 0:
            return None
        return self.tern / self.linux if self.higher_better else self.linux / self.tern


def net_rows(tern: GuestFigures, linux: GuestFigures) -> list[NetRow]:
    def get(figures: GuestFigures, attr: str, pick) -> Optional[float]:
        value = getattr(figures, attr)
        return None if value is None else pick(value)

    def row(text: str, unit: str, higher: bool, attr: str, pick) -> NetRow:
        return NetRow(text, unit, higher, get(tern, attr, pick), get(linux, attr, pick))

    return [
        row("ICMP ping flood, 1 outstanding", "replies/s", True, "flood", lambda r: r.pps),
        row("  RTT min", "ms", False, "flood", lambda r: r.rtt_ms[0]),
        row("  RTT avg", "ms", False, "flood", lambda r: r.rtt_ms[1]),
        row("  RTT max", "ms", False, "flood", lambda r: r.rtt_ms[2]),
        row(f"ICMP ping flood, {PRELOAD} outstanding", "replies/s", True, "preload", lambda r: r.pps),
        row(f"UDP echo {UDP_SIZE} B, {UDP_WINDOW} outstanding", "echoes/s", True, "udp", lambda r: r.pps),
        row(f"UDP echo {UDP_SIZE} B, 1 outstanding", "echoes/s", True, "udp_rtt", lambda r: r.pps),
        row("  RTT p50", "us", False, "udp_rtt", lambda r: r.rtt_us[2]),
        row("  RTT p99", "us", False, "udp_rtt", lambda r: r.rtt_us[3]),
    ]


def format_value(value: Optional[float], unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ms":
        return f"{value:.3f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def ratio_lines(rows: list[NetRow]) -> list[str]:
    """The rows of a Tern-vs-Linux table, with their header."""
    micro = "\u00b5s" if _unicode_ok() else "us"
    width = max(34, *(len(r.text) for r in rows))
    out = [f"  {'':{width}} {'unit':>9} {'better':>7} {'Tern':>10} {'Linux':>10}   Tern vs Linux"]
    for r in rows:
        unit = micro if r.unit == "us" else r.unit
        ratio = r.ratio()
        how = "Tern/Linux" if r.higher_better else "Linux/Tern"
        shown = "n/a" if ratio is None else f"{ratio_text(ratio)} ({how})"
        out.append(f"  {r.text:{width}} {unit:>9} {'higher' if r.higher_better else 'lower':>7} "
                   f"{format_value(r.tern, r.unit):>10} {format_value(r.linux, r.unit):>10}   {shown}")
    return out


def net_table(tern: GuestFigures, linux: GuestFigures, args: argparse.Namespace) -> str:
    out = [f"Network: Tern vs a Linux guest (QEMU {args.accel}, {NET_SMP} cores, e1000 on a tap; measured from "
           f"the namespace's side; Linux: {linux_guest_version()})", ""]
    out += ratio_lines(net_rows(tern, linux))
    out.append("")
    out.append("  Tern vs Linux above 1: Tern is better (rates: Tern/Linux; times: Linux/Tern).")
    for figures in (tern, linux):
        if figures.udp_missing:
            out.append(f"  {'Tern' if figures.name == 'tern' else 'Linux'} UDP rows n/a: {figures.udp_missing}")
    for note in tern.notes + linux.notes:
        out.append(f"  {note}" if note.startswith("WARNING") else f"  note: {note}")
    out.append(f"  logs: {rel(LOG_DIR)}/net-{{tern,linux}}-{{serial,tools}}.log")
    return "\n".join(out)


def run_net(args: argparse.Namespace) -> list[str]:
    """Both guests, one after the other; returns the problems (empty: all measured)."""
    reason = net_unavailable()
    if reason:
        raise BenchError(reason)
    results, problems = measure_both(args, measure_guest, GuestFigures)
    print()
    print(net_table(results["tern"], results["linux"], args))
    return problems


def measure_both(args: argparse.Namespace, measure, empty) -> tuple[dict, list[str]]:
    """Builds the Linux guest, then runs `measure(guest, args)` for Tern and for
    Linux, one after the other. Returns each guest's figures (`empty(guest)` when
    it could not run) and every problem."""
    missing = [f"{rel(path)} ({fix})" for path, fix in ((UDP_CLIENT, "./tern build"),
                                                          (args.iso, "./tern build, or a --iso that exists"))
               if not path.is_file()]
    if missing:
        raise BenchError("missing: " + ", ".join(missing))
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    guests = NET_GUESTS if args.guest is None else (args.guest,)
    linux_problem = build_linux_guest() if "linux" in guests else None
    results = {}
    for guest in NET_GUESTS:
        if guest not in guests:
            results[guest] = empty(guest)
            continue
        if guest == "linux" and linux_problem:
            problems.append(linux_problem)
            results[guest] = empty(guest)
            continue
        print(flush=True)
        results[guest] = measure(guest, args)
        problems += results[guest].problems
    return results, problems


# --- stream: bulk TCP and UDP throughput, Tern against a Linux guest ----------------------

TCP_STREAM = ROOT / "tools" / "tcp_stream.py"
ECHO_PORT, DISCARD_PORT, CHARGEN_PORT = 7, 9, 19
STREAM_FORWARDS = (("tcp", DISCARD_PORT), ("tcp", CHARGEN_PORT), ("udp", ECHO_PORT))
# --profile: QEMU's monitor socket, where the ring dump goes, and the report.
PROFILE_MONITOR = LOG_DIR / "stream-tern-monitor.sock"
PROFILE_DUMP = LOG_DIR / "stream-tern-profile.bin"
PROFILE_REPORT = LOG_DIR / "stream-tern-profile.txt"
MODULE_ELFS = BUILD / "boot" / "iso" / "boot"  # NAME.elf of every boot module
STREAM_SECONDS = 10.0
STREAM_UDP_SIZE, STREAM_UDP_WINDOW = 1472, 64  # 1472: the largest datagram in one 1500-byte frame
STREAM_CLOSE_TIMEOUT = 60   # the discard server must close within this long after the last byte
STREAM_GOAL = 1.5           # issue 6: Tern >= 1.5x Linux
INETD_SERVING = re.compile(r"inetd: echo tcp/udp")
INETD_FAILED = re.compile(r"inetd: cannot|run: (no service|'inetd')")
INETD_BOOT_SECONDS = 10     # boot/modules.txt starts inetd: wait this long for it after the ready line,
INETD_START_SECONDS = 40    # else `run inetd`, which itself waits up to 30 s for the tcp and udp servers
# The guest's counters, read before and after the measurements.
GUEST_COUNTERS = {"tern": ("netstat -s", "netstat -i"), "linux": ("cat /proc/net/snmp /proc/net/netstat",)}
# Linux has hundreds; these are the ones that say where bytes went or were lost.
LINUX_COUNTERS_SHOWN = ("Ip InDiscards", "Tcp InSegs", "Tcp OutSegs", "Tcp RetransSegs", "Tcp InErrs",
                        "Tcp OutRsts", "Udp InDatagrams", "Udp OutDatagrams", "Udp InErrors", "Udp RcvbufErrors",
                        "Udp SndbufErrors", "TcpExt TCPTimeouts", "TcpExt TCPBacklogDrop", "TcpExt TCPRcvQDrop",
                        "TcpExt TCPOFOQueue")


@dataclass
class TcpResult:
    direction: str
    bytes: int
    seconds: float
    mbps: float
    end: str


TCP_LINE = re.compile(r"tcp_stream: (send|receive) bytes (\d+) seconds ([0-9.]+) mbps ([0-9.]+) end (.*)$", re.M)


def parse_tcp(text: str) -> Optional[TcpResult]:
    match = TCP_LINE.search(text)
    if not match:
        return None
    direction, moved, seconds, mbps, end = match.groups()
    return TcpResult(direction, int(moved), float(seconds), float(mbps), end.strip())


@dataclass
class StreamFigures:
    name: str
    tcp_in: Optional[TcpResult] = None    # host -> guest, to discard
    tcp_out: Optional[TcpResult] = None   # guest -> host, from chargen
    udp: Optional[UdpResult] = None       # windowed echo
    counters: str = ""                    # what changed in the guest's counters meanwhile
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def stream_tool_commands(target, seconds: float) -> list[tuple[str, str, list[str], float]]:
    """(attribute, what, argv, timeout) of each measurement, in order; `target(proto, port)`
    says where the host reaches the guest's port."""
    def tcp(direction: str, port: int) -> list[str]:
        address, host_port = target("tcp", port)
        return [sys.executable, str(TCP_STREAM), direction, address, str(host_port), "--seconds", f"{seconds:g}",
                *(["--close-timeout", str(STREAM_CLOSE_TIMEOUT)] if direction == "send" else [])]
    address, udp_port = target("udp", ECHO_PORT)
    return [
        ("tcp_in", "TCP host -> guest (discard)", tcp("send", DISCARD_PORT), seconds + STREAM_CLOSE_TIMEOUT + 30),
        ("tcp_out", "TCP guest -> host (chargen)", tcp("receive", CHARGEN_PORT), seconds + 30),
        ("udp", f"UDP echo {STREAM_UDP_SIZE} B, {STREAM_UDP_WINDOW} outstanding",
         [str(UDP_CLIENT), address, "--port", str(udp_port), "--window", str(STREAM_UDP_WINDOW),
          "--size", str(STREAM_UDP_SIZE), "--duration", f"{seconds:g}", "--timeout", str(UDP_TIMEOUT_MS)],
         seconds + 30),
    ]


def guest_counters(run: GuestRun) -> tuple[dict[str, int], set[str]]:
    """The guest's network counters ("tcp segments_received", "Tcp RetransSegs", ...)
    and which of them count errors (Tern marks those)."""
    counters: dict[str, int] = {}
    errors: set[str] = set()
    for command in GUEST_COUNTERS[run.guest]:
        section = ""
        header: dict[str, list[str]] = {}
        for line in run.shell(command):
            if run.guest == "linux":  # /proc/net/snmp, netstat: "Tcp: names..." then "Tcp: values..."
                proto, _, rest = line.partition(":")
                words = rest.split()
                if proto in header and words and all(w.lstrip("-").isdigit() for w in words):
                    counters.update((f"{proto} {name}", int(v)) for name, v in zip(header.pop(proto), words))
                elif words:
                    header[proto] = words
            elif match := re.match(r"^(tcp|udp):$", line):                       # netstat -s
                section = match.group(1)
            elif match := re.match(r"^\s+(\w+)\s+(\d+)(\s+\(error\))?$", line):
                counters[f"{section} {match.group(1)}"] = int(match.group(2))
                if match.group(3):
                    errors.add(f"{section} {match.group(1)}")
            elif match := re.match(r"^(\w+): received (\d+) packets .*sent (\d+) packets", line):   # netstat -i
                section = match.group(1)
                counters[f"{section} received"], counters[f"{section} sent"] = map(int, match.group(2, 3))
            elif match := re.match(r"^\s+dropped (\d+): (.*?)( \(error\))?$", line):
                counters[f"{section} dropped {match.group(2)}"] = int(match.group(1))
                errors.add(f"{section} dropped {match.group(2)}")
    return counters, errors


def counter_changes(guest: str, before: dict[str, int], after: dict[str, int], errors: set[str]) -> str:
    """The counters that changed, as text; errors (Tern's marked ones, every drop) in capitals."""
    shown = after if guest == "tern" else [key for key in LINUX_COUNTERS_SHOWN if key in after]
    changes = []
    for key in shown:
        delta = after[key] - before.get(key, 0)
        if delta:
            changes.append(f"{key.upper() if key in errors else key} +{delta:,}")
    return ", ".join(changes) or "none changed"


def start_inetd(run: GuestRun) -> None:
    """Tern's echo, discard and chargen: inetd starts at boot; `run inetd` if it did not."""
    if run.console.wait_for(INETD_SERVING, INETD_BOOT_SECONDS, fail=INETD_FAILED).match:
        return
    mark = run.console.mark()
    if not run.console.send("run inetd"):
        raise BenchError("cannot type `run inetd` (QEMU gone?)")
    seen = run.console.wait_for(INETD_SERVING, INETD_START_SECONDS, since=mark, fail=INETD_FAILED)
    if not seen.match:
        raise BenchError("inetd did not start: " + (f"the shell said: {seen.failed}" if seen.failed else
                         f"no '{INETD_SERVING.pattern}' within {INETD_START_SECONDS} s") + f" {run.where}")


class StreamProfiler:
    """--profile: the kernel's samples (kernel/profile.hpp) taken during each
    measurement, summarised by process and function, printed and written to
    PROFILE_REPORT."""

    def __init__(self, run: GuestRun):
        try:
            self.address = guest_profile.ring_address(run.serial_log.read_text(errors="replace"))
        except (OSError, guest_profile.ProfileError) as err:
            raise BenchError(f"--profile: {err} {run.where}") from None
        self.monitor = guest_profile.Monitor(PROFILE_MONITOR)
        self.names = guest_profile.process_names(run.shell("ps"))
        self.symbols = guest_profile.symbols_for([*self.names.values(), "kernel"], MODULE_ELFS)
        self.since = 0
        PROFILE_REPORT.write_text("")

    def read(self) -> list[guest_profile.Sample]:
        try:
            return guest_profile.read_ring(self.monitor, self.address, PROFILE_DUMP)
        except (OSError, guest_profile.ProfileError) as err:
            raise BenchError(f"--profile: {err}") from None

    def start(self) -> None:
        self.since = guest_profile.latest(self.read())

    def stop(self, what: str) -> None:
        samples = guest_profile.newer_than(self.read(), self.since)
        lines = [f"profile of {what}:"] + ["  " + line for line in
                                           guest_profile.summary(samples, self.names, self.symbols)]
        print("\n".join("   " + line for line in lines), flush=True)
        with PROFILE_REPORT.open("a") as report:
            report.write("\n".join(lines) + "\n\n")


def measure_stream(guest: str, args: argparse.Namespace) -> StreamFigures:
    """Boots `guest`, measures the three streams, powers it off. Never raises
    BenchError: what failed goes into the figures' problems."""
    figures = StreamFigures(guest)
    run = GuestRun(guest, "stream", args.netdev, STREAM_FORWARDS)
    label, where = run.label, run.where
    try:
        run.boot(args)
        if guest == "tern":
            start_inetd(run)
        run.warm_up()
        profiler = StreamProfiler(run) if guest == "tern" and args.profile else None
        before, _ = guest_counters(run)
        for attr, what, argv, timeout in stream_tool_commands(run.target, args.seconds):
            if profiler:
                profiler.start()
            status, out = run.run(what, argv, timeout)
            if profiler:
                profiler.stop(what)
            result = parse_udp(out) if attr == "udp" else parse_tcp(out)
            if result is None:
                figures.problems.append(f"{label}: {what}: no result line (exit status {status}) {where}")
                continue
            if attr == "udp":
                if result.fields["received"] == 0 or result.fields["bad"]:
                    figures.problems.append(f"{label}: {what}: {result.fields['received']} good echoes, "
                                            f"{result.fields['bad']} bad {where}")
                    continue
                if result.oddities():
                    figures.notes.append(f"{label}, {what}: {result.oddities()}")
            elif result.bytes == 0:
                figures.problems.append(f"{label}: {what}: no bytes moved ({result.end}) {where}")
                continue
            elif result.end != "closed":
                figures.notes.append(f"WARNING: {label}, {what}: the connection ended with '{result.end}'"
                                     + (f" instead of the guest's close (within {STREAM_CLOSE_TIMEOUT} s): not every"
                                        " byte counted is known to have arrived" if attr == "tcp_in" else ""))
            setattr(figures, attr, result)
        after, errors = guest_counters(run)
        figures.counters = counter_changes(guest, before, after, errors)
        run.power_off()
    except BenchError as err:
        figures.problems.append(f"{label}: {err}")
    finally:
        run.close()
        figures.notes[:0] = run.notes
    return figures


def stream_rows(tern: StreamFigures, linux: StreamFigures) -> list[NetRow]:
    arrow = "\u2192" if _unicode_ok() else "->"

    def both(attr: str, pick) -> tuple[Optional[float], Optional[float]]:
        return tuple(None if getattr(f, attr) is None else pick(getattr(f, attr)) for f in (tern, linux))

    def udp_mbps(r: UdpResult) -> float:
        return r.pps * r.fields["size"] * 8 / 1e6

    def udp_lost(r: UdpResult) -> float:
        return 100.0 * r.fields["lost"] / r.fields["sent"] if r.fields["sent"] else 0.0

    return [
        NetRow(f"TCP host {arrow} guest (discard)", "Mb/s", True, *both("tcp_in", lambda r: r.mbps)),
        NetRow(f"TCP guest {arrow} host (chargen)", "Mb/s", True, *both("tcp_out", lambda r: r.mbps)),
        NetRow(f"UDP echo {STREAM_UDP_SIZE} B x{STREAM_UDP_WINDOW}, each way", "Mb/s", True, *both("udp", udp_mbps)),
        NetRow("  requests lost", "%", False, *both("udp", udp_lost)),
    ]


def stream_table(tern: StreamFigures, linux: StreamFigures, args: argparse.Namespace) -> tuple[str, list[Goal]]:
    link = ("a tap in a private namespace; the host's tools run in the namespace" if args.netdev == "tap" else
            "QEMU's user-mode networking, hostfwd from 127.0.0.1")
    out = [f"Stream: Tern vs a Linux guest (QEMU {args.accel}, {NET_SMP} cores, e1000 on {link}; "
           f"{args.seconds:g} s each; Linux: {linux_guest_version()})", ""]
    rows = stream_rows(tern, linux)
    out += ratio_lines(rows)
    out.append("")
    out.append("  TCP in: bytes sent / time from connect until the guest closed after reading the last one.")
    out.append("  TCP out: bytes read / time from connect to the last read. UDP: payload of the good echoes per")
    out.append(f"  second (each crossed both ways); a request unanswered after {UDP_TIMEOUT_MS} ms counts as lost "
               "and is replaced.")
    for figures in (tern, linux):
        label = "Tern" if figures.name == "tern" else "Linux"
        parts = [f"TCP {what} {r.bytes / 1e6:,.0f} MB in {r.seconds:.2f} s" for what, r in
                 (("in", figures.tcp_in), ("out", figures.tcp_out)) if r is not None]
        if figures.udp is not None:
            f = figures.udp.fields
            parts.append(f"UDP {f['sent']:,} requests, {f['received']:,} echoed, {f['lost']:,} lost")
        if parts:
            out.append(f"  {label}: " + "; ".join(parts))
        if figures.counters:
            out.append(textwrap.fill(f"{label}'s counters during the measurements: {figures.counters}", width=110,
                                     initial_indent="  ", subsequent_indent="    "))
    for note in tern.notes + linux.notes:
        out.append(f"  {note}" if note.startswith("WARNING") else f"  note: {note}")
    out.append(f"  logs: {rel(LOG_DIR)}/stream-{{tern,linux}}-{{serial,tools}}.log")
    goals = [Goal(f"stream, {r.text.strip()}: Tern vs Linux", r.ratio(), STREAM_GOAL) for r in rows[:3]]
    return "\n".join(out), goals


def stream_unavailable(netdev: str) -> Optional[str]:
    if netdev == "tap":
        if os.geteuid() != 0:
            return ("./tern bench stream --netdev tap needs root (a network namespace with a tap device); "
                    "run it as root or use --netdev user")
        reason = netns.unavailable()
        if reason:
            return f"./tern bench stream cannot make its network namespace: {reason}; use --netdev user"
    return None


def run_stream(args: argparse.Namespace) -> tuple[list[Goal], list[str]]:
    reason = stream_unavailable(args.netdev)
    if reason:
        raise BenchError(reason)
    results, problems = measure_both(args, measure_stream, StreamFigures)
    table, goals = stream_table(results["tern"], results["linux"], args)
    print()
    print(table)
    return goals, problems


# --- command line -------------------------------------------------------------------

def make_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:9} {text}" for name, text in BENCHMARKS.items())
    p = argparse.ArgumentParser(
        prog="./tern bench", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a Tern benchmark and print its figures and ratios. Not part of ./tern test.\n\n"
                    f"Benchmarks:\n{listing}",
        epilog="Examples:\n"
               "  ./tern bench channels               host, then the OS (about a minute)\n"
               "  ./tern bench channels --host-only   only the host comparison\n"
               "  ./tern bench channels --host-only -- --benchmark_repetitions=5\n"
               "                                      5 runs each; the table uses the medians\n"
               "  ./tern bench ipc                    the OS's bench-ipc table\n"
               "  ./tern bench net                    Tern vs a Linux guest: ping flood and UDP echo\n"
               "                                      (root; a few minutes; the first run downloads\n"
               "                                      Debian's kernel and busybox, ~71 MB)\n"
               "  ./tern bench stream                 Tern vs a Linux guest: TCP both ways, UDP echo, Mb/s\n"
               "                                      (tap as root, else user-mode networking)\n"
               "  ./tern bench stream --netdev user --seconds 5\n"
               "  ./tern bench stream --guest tern --cmdline e1000.polling=off\n"
               "                                      Tern alone, booted with an extra kernel argument\n"
               "  python3 tools/bench.py channels --os-only --os-log FILE\n"
               "                                      parse a saved serial log instead of booting\n\n"
               "Logs and raw results: build/bench-logs/. Anything after -- goes to channel_bench\n"
               "(Google Benchmark options such as --benchmark_filter=REGEX, or --cpus=A,B).")
    p.add_argument("benchmark", nargs="?", metavar="BENCHMARK", help="one of: " + ", ".join(BENCHMARKS))
    where = p.add_mutually_exclusive_group()
    where.add_argument("--host-only", action="store_true", help="channels: only the host part")
    where.add_argument("--os-only", action="store_true", help="channels: only the part in the OS")
    p.add_argument("--accel", choices=("tcg", "kvm", "auto"), default="tcg",
                   help="QEMU accelerator for the OS part (default tcg, as the tests use)")
    p.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="give up on the QEMU run after this long (default 300; net, stream: on a guest "
                        "that has not come up)")
    p.add_argument("--os-log", metavar="FILE", help="parse this serial log instead of booting QEMU")
    p.add_argument("--host-json", metavar="FILE",
                   help="channels: read this channel_bench JSON output instead of running it")
    p.add_argument("--seconds", type=float, metavar="S",
                   help=f"stream: how long each transfer runs (default {STREAM_SECONDS:g})")
    p.add_argument("--netdev", choices=("tap", "user"),
                   help="stream: the guests' network: a tap in a private namespace (root), or QEMU's user-mode "
                        "networking with hostfwd (default: tap when root, else user)")
    p.add_argument("--guest", choices=NET_GUESTS,
                   help="net, stream: measure only this guest (no ratios; for working on one of them)")
    p.add_argument("--profile", action="store_true",
                   help="stream: sample where Tern's cores are during each measurement (kernel profile=on, "
                        "100 Hz per core) and print the busiest processes and functions; also in "
                        f"{PROFILE_REPORT.relative_to(ROOT)}")
    p.add_argument("--iso", type=Path, default=BUILD / "tern.iso",
                   help="net, stream: the Tern ISO to boot (default build/tern.iso; to compare builds, copy "
                        "each ISO aside and run the bench once per copy)")
    p.add_argument("--cmdline", metavar="ARGS", default="",
                   help="net, stream: more kernel arguments for Tern, e.g. 'e1000.polling=off'")
    p.add_argument("--dry-run", action="store_true", help="check the arguments and print what would run")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = make_parser()
    args = parser.parse_args(argv)
    args.extra = extra
    if args.benchmark is None:
        print("bench: name a benchmark:", file=sys.stderr)
        for name, text in BENCHMARKS.items():
            print(f"  {name:9} {text}", file=sys.stderr)
        print("See ./tern bench --help", file=sys.stderr)
        return 2
    if args.benchmark not in BENCHMARKS:
        parser.error(f"unknown benchmark {args.benchmark!r} (choose from {', '.join(BENCHMARKS)})")
    if args.benchmark == "ipc" and (args.host_only or args.os_only or args.host_json or extra):
        parser.error("ipc runs only in the OS: --host-only, --os-only, --host-json and -- ARGS do not apply")
    if args.benchmark == "net" and (args.host_only or args.os_only or args.host_json or args.os_log or extra):
        parser.error("net boots both guests itself: --host-only, --os-only, --host-json, --os-log and "
                     "-- ARGS do not apply")
    if args.benchmark == "stream" and (args.host_only or args.os_only or args.host_json or args.os_log or extra):
        parser.error("stream boots both guests itself: --host-only, --os-only, --host-json, --os-log and "
                     "-- ARGS do not apply")
    if args.benchmark != "stream" and (args.seconds is not None or args.netdev is not None):
        parser.error("--seconds and --netdev apply only to stream")
    if args.guest is not None and args.benchmark not in ("net", "stream"):
        parser.error("--guest applies only to net and stream")
    if args.profile and (args.benchmark != "stream" or args.guest == "linux"):
        parser.error("--profile applies only to stream, and profiles Tern")
    if args.seconds is None:
        args.seconds = STREAM_SECONDS
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.netdev is None:
        args.netdev = "tap" if stream_unavailable("tap") is None else "user"
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if extra and (args.os_only or args.host_json):
        parser.error("arguments after -- go to channel_bench, which --os-only / --host-json do not run")
    host = args.benchmark == "channels" and not args.os_only
    in_os = args.benchmark == "ipc" or (args.benchmark == "channels" and not args.host_only)

    if args.dry_run and args.benchmark == "net":
        print("linux guest:", shlex.join([rel(LINUX_GUEST_TOOL)]))
        netdev = "tap,id=net0,ifname=tern0,script=no,downscript=no"
        for guest in NET_GUESTS:
            print(f"{guest}: ip netns exec tern-bench-PID", shlex.join(guest_qemu_command(guest, netdev, NET_GUEST_ADDRESS, args)))
        for what, argv, _ in net_tool_commands():
            print(f"each guest, {what}: ip netns exec tern-bench-PID", shlex.join(argv))
        reason = net_unavailable()
        if reason:
            print(f"bench: {reason}", file=sys.stderr)
            return 1
        return 0
    if args.dry_run and args.benchmark == "stream":
        print("linux guest:", shlex.join([rel(LINUX_GUEST_TOOL)]))
        if args.netdev == "tap":
            netdev, where = "tap,id=net0,ifname=tern0,script=no,downscript=no", "ip netns exec tern-bench-PID "
            address, target = NET_GUEST_ADDRESS, lambda proto, port: (NET_GUEST_ADDRESS, port)
        else:
            netdev, where = "user,id=net0" + "".join(f",hostfwd={proto}:127.0.0.1:FREE-:{port}"
                                                      for proto, port in STREAM_FORWARDS), ""
            address, target = USER_GUEST_ADDRESS, lambda proto, port: ("127.0.0.1", "FREE")
        for guest in NET_GUESTS:
            print(f"{guest}: {where}" + shlex.join(guest_qemu_command(guest, netdev, address, args)))
        for _, what, argv, _ in stream_tool_commands(target, args.seconds):
            print(f"each guest, {what}: {where}" + shlex.join(argv))
        reason = stream_unavailable(args.netdev)
        if reason:
            print(f"bench: {reason}", file=sys.stderr)
            return 1
        return 0
    if args.dry_run:
        if host:
            print("host:", rel(Path(args.host_json)) if args.host_json else
                  shlex.join([rel(HOST_BINARY), f"--benchmark_out={rel(LOG_DIR / 'channels-host.json')}",
                              "--benchmark_out_format=json", *extra]))
        if in_os:
            program = "bench-ipc" if args.benchmark == "ipc" else "bench-chan"
            print("os:", rel(Path(args.os_log)) if args.os_log else shlex.join(boot_command(program, args)))
        return 0

    if args.benchmark == "net":
        reason = net_unavailable()
        if reason:
            print(f"bench: {reason}", file=sys.stderr)
            return 1

    goals: list[Goal] = []
    problems: list[str] = []
    if host:
        try:
            got, notes = run_host(args)
            goals += got
            problems += notes
        except BenchError as err:
            problems.append(str(err))
            goals += [Goal("host, ring one at a time vs boost spsc_queue one at a time", None, GOAL_UNBATCHED),
                      Goal("host, ring batched vs boost spsc_queue one at a time", None, GOAL_BATCHED)]
        print(flush=True)
    if in_os and args.benchmark == "channels":
        try:
            got, notes = run_os_channels(args)
            goals += got
            problems += notes
        except BenchError as err:
            problems.append(str(err))
            goals.append(Goal("OS, channel round trip vs IPC call/reply across cores", None, GOAL_CHANNEL_VS_IPC))
        print(flush=True)
    if args.benchmark == "ipc":
        try:
            problems += run_os_ipc(args)
        except BenchError as err:
            problems.append(str(err))
        print(flush=True)
    if args.benchmark == "net":
        try:
            problems += run_net(args)
        except BenchError as err:
            problems.append(str(err))
        print(flush=True)
    if args.benchmark == "stream":
        try:
            got, notes = run_stream(args)
            goals += got
            problems += notes
        except BenchError as err:
            problems.append(str(err))
        print(flush=True)

    if goals:
        print("Goals:")
        for goal in goals:
            print(goal.line())
        for warning in WARNINGS:
            print(f"  WARNING: {warning}")
    sys.stdout.flush()
    if problems:
        print("\nbench: FAILED:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


def _terminate(signum, _frame):
    # SIGTERM: unwind like Ctrl-C, so QEMU is stopped and namespaces are deleted.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
