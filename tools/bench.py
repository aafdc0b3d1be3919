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

Logs and raw results go to build/bench-logs/: <program>.log (serial console of
the QEMU run) and channels-host.json (Google Benchmark's JSON output).

Exit status: 0 when everything ran and was parsed (whether or not a goal was
met: the table says), 1 when a part failed or printed no figures, 2 on a usage
error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
LOG_DIR = BUILD / "bench-logs"
HOST_BINARY = BUILD / "tests" / "bench" / "channel_bench"
BOOT_SCENARIO = ROOT / "tests" / "integration" / "boot_scenario.py"

BENCHMARKS = {
    "channels": "ring vs boost::lockfree::spsc_queue vs pipe on the host, then channel vs IPC in the OS",
    "ipc": "the OS's bench-ipc: system call, IPC call/reply and notification costs",
}

GOAL_UNBATCHED = 1.0    # ring one at a time / boost one at a time
GOAL_BATCHED = 3.0      # ring batched / boost one at a time
GOAL_CHANNEL_VS_IPC = 10.0

ANSI_ESCAPE = re.compile(r"\x1b(\[[0-9;?=]*[ -/]*[@-~]|[()][0-9A-Za-z]|[@-Z\\-_])")


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
                   help="give up on the QEMU run after this long (default 300)")
    p.add_argument("--os-log", metavar="FILE", help="parse this serial log instead of booting QEMU")
    p.add_argument("--host-json", metavar="FILE",
                   help="channels: read this channel_bench JSON output instead of running it")
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
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if extra and (args.os_only or args.host_json):
        parser.error("arguments after -- go to channel_bench, which --os-only / --host-json do not run")
    host = args.benchmark == "channels" and not args.os_only
    in_os = args.benchmark == "ipc" or not args.host_only

    if args.dry_run:
        if host:
            print("host:", rel(Path(args.host_json)) if args.host_json else
                  shlex.join([rel(HOST_BINARY), f"--benchmark_out={rel(LOG_DIR / 'channels-host.json')}",
                              "--benchmark_out_format=json", *extra]))
        if in_os:
            program = "bench-ipc" if args.benchmark == "ipc" else "bench-chan"
            print("os:", rel(Path(args.os_log)) if args.os_log else shlex.join(boot_command(program, args)))
        return 0

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


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
