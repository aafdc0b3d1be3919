#!/usr/bin/env python3
"""Boot Tern once in QEMU and check what it prints on the serial console.

A scenario passes only when all of these hold:
  * QEMU exits by itself before --timeout with exactly the --expect-exit status
    (default 33, the kernel's "success" through isa-debug-exit; 0 is never accepted:
    it is what a triple fault under -no-reboot gives);
  * every --expect REGEX matched some serial line;
  * every --expect-count REGEX N matched at least N serial lines;
  * no --reject REGEX matched any serial line;
  * every --send-after step of the conversation was sent.

The serial port is a pipe that this script reads while QEMU runs (`-serial stdio`,
stdin /dev/null). Each chunk is written at once to <log-dir>/<name>.log and every
complete line is matched as it arrives, so the script never sleeps for a fixed
time: it wakes when QEMU exits, when a rejected line appears (then QEMU gets
--reject-grace seconds to finish its report and exit), or at the timeout (QEMU is
killed and the scenario fails, listing what was not seen).

A conversation drives a program on the serial console (the shell): with
`--send-after REGEX TEXT` (repeatable, in order) QEMU's stdin is a pipe instead
of /dev/null, and the harness writes TEXT plus a carriage return as soon as
REGEX matches serial output. Each step waits for its own REGEX in what arrives
after the previous step's text was written, and it also looks at the line still
being printed, so a prompt without a newline (`tern> `) is enough. The steps
share the overall --timeout; there are no fixed sleeps.

Regexes are Python `re` patterns, searched within single lines, after the line's
carriage returns and ANSI escape sequences are removed.

Exit status: 0 pass, 1 fail, 2 usage or environment error (e.g. ISO missing).

Run by CTest (tests/integration/CMakeLists.txt); by hand, e.g.:
  python3 tests/integration/boot_scenario.py --name try --smp 2 --cmdline test=selftest \
      --expect 'all 2 cores online' --expect 'selftest: passed' --reject 'EXCEPTION|FAILED'
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, str(REPO_ROOT / "tools"))
import qemu as qemu_tool  # noqa: E402  (tools/qemu.py)
from serial_console import clean_line, die_with_parent, stop  # noqa: E402  (tools/serial_console.py)

DEFAULT_TIMEOUT_BIOS = 60.0
DEFAULT_TIMEOUT_UEFI = 120.0
DEFAULT_REJECT_GRACE = 5.0
TAIL_LINES = 40


EXIT_MEANING = {
    0: "triple fault under -no-reboot, or QEMU quit normally -- never success",
    1: "QEMU failed (bad option, missing file...) or the guest wrote 0 to isa-debug-exit",
    qemu_tool.EXIT_SUCCESS: "success: kernel wrote 0x10 to isa-debug-exit",
    qemu_tool.EXIT_SELFTEST_FAILED: "self-test failed",
    qemu_tool.EXIT_KERNEL_FAULT: "kernel fault or panic in a test mode",
}


def describe_exit(status: Optional[int]) -> str:
    if status is None:
        return "did not exit"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"killed by {name}"
    meaning = EXIT_MEANING.get(status)
    if meaning is None and status & 1:
        meaning = f"guest wrote {status >> 1:#x} to isa-debug-exit"
    return f"{status}" + (f" ({meaning})" if meaning else "")


@dataclass
class Pattern:
    text: str
    regex: re.Pattern
    seen_at: Optional[float] = None   # seconds since QEMU start
    line_no: Optional[int] = None
    line: Optional[str] = None
    min_count: int = 0                # --expect-count: lines that must match
    count: int = 0                    # --expect-count: lines that matched


@dataclass
class Step:
    """One --send-after step: when `pattern` matches, write `text` + CR."""
    pattern: Pattern
    text: str
    sent_at: Optional[float] = None
    error: Optional[str] = None


@dataclass
class SerialWatcher:
    """Reads QEMU's serial output, logs it, and matches lines as they arrive."""
    expects: list[Pattern]
    rejects: list[Pattern]
    marker: Optional[Pattern]
    log_file: "object"
    start: float
    counts: list[Pattern] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    serial_input: "object" = None     # QEMU's stdin (a pipe) when there are steps
    changed: threading.Event = field(default_factory=threading.Event)
    eof: threading.Event = field(default_factory=threading.Event)
    first_reject_at: Optional[float] = None
    lines: list[str] = field(default_factory=list)
    next_step: int = 0                # index of the step waiting for its pattern
    _partial: bytes = b""
    _since_send: bytes = b""          # output since the last step was sent, not yet ruled out

    def run(self, fd: int) -> None:
        try:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except InterruptedError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                self.log_file.write(chunk)
                self.log_file.flush()
                self._feed(chunk)
            if self._partial:
                self._match(self._partial)
                self._partial = b""
        finally:
            self.eof.set()
            self.changed.set()

    def _feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        for raw in complete:
            self._match(raw)
        if self.next_step < len(self.steps):
            self._converse(chunk)

    def _converse(self, chunk: bytes) -> None:
        """Sends the next step's text once its pattern matches output since the last send."""
        data = self._since_send + chunk
        *complete, partial = data.split(b"\n")
        step = self.steps[self.next_step]
        for line in [clean_line(raw) for raw in complete] + [clean_line(partial)]:
            if step.pattern.regex.search(line):
                self._send(step, line)
                self._since_send = b""  # the next step waits for output that comes after this
                return
        self._since_send = partial  # complete lines did not match; they never will

    def _send(self, step: Step, line: str) -> None:
        now = time.monotonic() - self.start
        step.pattern.seen_at, step.pattern.line = now, line
        try:
            self.serial_input.write(step.text.encode("utf-8") + b"\r")
            self.serial_input.flush()
        except (OSError, ValueError) as err:  # QEMU gone (broken pipe) or input closed
            step.error = f"could not write to QEMU's serial input: {err}"
            self.next_step = len(self.steps)
            self.changed.set()
            return
        step.sent_at = now
        self.next_step += 1
        print(f"  {now:7.2f} s  sent {step.text!r} (step {self.next_step}/{len(self.steps)}, "
              f"after /{step.pattern.text}/)", flush=True)
        self.changed.set()

    def _match(self, raw: bytes) -> None:
        now = time.monotonic() - self.start
        line = clean_line(raw)
        self.lines.append(line)
        number = len(self.lines)
        for pattern in self.expects + ([self.marker] if self.marker else []):
            if pattern.seen_at is None and pattern.regex.search(line):
                pattern.seen_at, pattern.line_no, pattern.line = now, number, line
        for pattern in self.counts:
            if pattern.regex.search(line):
                pattern.count += 1
                if pattern.seen_at is None:
                    pattern.seen_at, pattern.line_no, pattern.line = now, number, line
        for pattern in self.rejects:
            if pattern.seen_at is None and pattern.regex.search(line):
                pattern.seen_at, pattern.line_no, pattern.line = now, number, line
                if self.first_reject_at is None:
                    self.first_reject_at = now
                    self.changed.set()


def compile_patterns(texts: list[str], what: str) -> list[Pattern]:
    patterns = []
    for text in texts:
        try:
            patterns.append(Pattern(text, re.compile(text)))
        except re.error as err:
            raise SystemExit(f"boot_scenario: error: bad {what} regex {text!r}: {err}")
    return patterns


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="boot_scenario.py",
        description="Boot the Tern ISO in QEMU and check its serial output and exit status.",
        epilog="Arguments after `--` are appended to the QEMU command line.")
    p.add_argument("--name", required=True, help="scenario name; the serial log is <log-dir>/<name>.log")
    p.add_argument("--iso", type=Path, default=qemu_tool.DEFAULT_ISO, help="ISO to boot")
    p.add_argument("--smp", type=int, default=1, help="number of cores (default 1)")
    p.add_argument("--machine", choices=qemu_tool.MACHINES, default=qemu_tool.DEFAULT_MACHINE)
    p.add_argument("--memory", type=int, default=qemu_tool.DEFAULT_MEMORY_MIB, metavar="MiB")
    p.add_argument("--uefi", action="store_true", help="boot with OVMF instead of SeaBIOS")
    p.add_argument("--accel", choices=qemu_tool.ACCELS + ("auto",), default=qemu_tool.DEFAULT_ACCEL)
    p.add_argument("--cmdline", default=None, help="extra kernel arguments, e.g. test=selftest")
    p.add_argument("--expect", action="append", default=[], metavar="REGEX",
                   help="must match a serial line (repeatable; all must match)")
    p.add_argument("--reject", action="append", default=[], metavar="REGEX",
                   help="must not match any serial line (repeatable)")
    p.add_argument("--expect-count", action="append", nargs=2, default=[], metavar=("REGEX", "N"),
                   help="must match at least N serial lines (repeatable)")
    p.add_argument("--send-after", action="append", nargs=2, default=[], metavar=("REGEX", "TEXT"),
                   help="conversation step (repeatable, in order): once REGEX matches output that came "
                        "after the previous step, write TEXT and a carriage return to the serial port")
    p.add_argument("--expect-exit", type=int, default=qemu_tool.EXIT_SUCCESS, metavar="CODE",
                   help="required QEMU exit status (default 33; 0 is refused)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help=f"kill QEMU and fail after this long (default {DEFAULT_TIMEOUT_BIOS:.0f} s, "
                        f"{DEFAULT_TIMEOUT_UEFI:.0f} s with --uefi)")
    p.add_argument("--reject-grace", type=float, default=DEFAULT_REJECT_GRACE, metavar="SECONDS",
                   help="after a rejected line, wait at most this long for QEMU to exit, then kill it "
                        f"(default {DEFAULT_REJECT_GRACE:.0f} s)")
    p.add_argument("--log-dir", type=Path, default=REPO_ROOT / "build" / "test-logs")
    p.add_argument("--timing-marker", default=None, metavar="REGEX",
                   help="report the time from QEMU start to the first line matching REGEX")
    p.add_argument("--qemu-binary", default=qemu_tool.QEMU_BINARY, metavar="COMMAND",
                   help="QEMU binary or command prefix (shell-split; the harness self-tests "
                        "use a fake QEMU here)")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    ours, extra = qemu_tool.split_extra(sys.argv[1:] if argv is None else argv)
    parser = make_parser()
    args = parser.parse_args(ours)
    if args.expect_exit == 0:
        parser.error("--expect-exit 0 is refused: status 0 is what a triple fault gives")
    if args.timeout is None:
        args.timeout = DEFAULT_TIMEOUT_UEFI if args.uefi else DEFAULT_TIMEOUT_BIOS
    if args.timeout <= 0:
        parser.error("--timeout must be positive")

    expects = compile_patterns(args.expect, "--expect")
    rejects = compile_patterns(args.reject, "--reject")
    counts = compile_patterns([regex for regex, _ in args.expect_count], "--expect-count")
    for pattern, (_, wanted) in zip(counts, args.expect_count):
        try:
            pattern.min_count = int(wanted, 10)
        except ValueError:
            parser.error(f"--expect-count {pattern.text!r}: N must be a whole number, not {wanted!r}")
        if pattern.min_count < 1:
            parser.error(f"--expect-count {pattern.text!r}: N must be at least 1")
    steps = [Step(pattern, text) for pattern, (_, text) in
             zip(compile_patterns([regex for regex, _ in args.send_after], "--send-after"), args.send_after)]
    for step in steps:
        if "\n" in step.text or "\r" in step.text:
            parser.error(f"--send-after {step.pattern.text!r}: TEXT must be one line (the harness adds the CR)")
    marker = compile_patterns([args.timing_marker], "--timing-marker")[0] if args.timing_marker else None

    accel = qemu_tool.resolve_accel(args.accel)
    qemu_prefix = shlex.split(args.qemu_binary)
    if not qemu_prefix:
        parser.error("--qemu-binary is empty")
    try:
        cmd = qemu_tool.build_command(
            args.iso, smp=args.smp, machine=args.machine, memory=args.memory, uefi=args.uefi,
            accel=accel, cmdline=args.cmdline, serial="stdio", extra_args=extra, qemu=qemu_prefix)
    except ValueError as err:
        parser.error(str(err))
    problems = qemu_tool.check_environment(args.iso, uefi=args.uefi, accel=accel, qemu=qemu_prefix)
    if problems:
        for problem in problems:
            print(f"boot_scenario: error: {problem}", file=sys.stderr)
        print(f"FAIL {args.name}: cannot start QEMU", flush=True)
        return 2

    args.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = args.log_dir / f"{args.name}.log"
    stderr_path = args.log_dir / f"{args.name}.qemu-stderr.log"
    print(f"scenario {args.name}: {shlex.join(cmd)}", flush=True)

    # CTest or a user may stop us with SIGTERM/SIGINT: make sure QEMU goes too.
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    timed_out = False
    killed_after_reject = False
    with open(log_path, "wb") as log_file, open(stderr_path, "wb") as stderr_file:
        start = time.monotonic()
        try:
            # The serial port's input: a pipe the conversation writes, else nothing.
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if steps else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=stderr_file, preexec_fn=die_with_parent)
        except OSError as err:
            print(f"boot_scenario: error: cannot start {cmd[0]}: {err}; run ./tern setup", file=sys.stderr)
            print(f"FAIL {args.name}: cannot start QEMU", flush=True)
            return 2
        watcher = SerialWatcher(expects, rejects, marker, log_file, start, counts=counts, steps=steps,
                                serial_input=proc.stdin)
        reader = threading.Thread(target=watcher.run, args=(proc.stdout.fileno(),), daemon=True)
        reader.start()
        try:
            deadline = start + args.timeout
            while True:
                watcher.changed.clear()
                if watcher.eof.is_set():
                    break
                end = deadline
                if watcher.first_reject_at is not None:
                    end = min(end, start + watcher.first_reject_at + args.reject_grace)
                now = time.monotonic()
                if now >= end:
                    if end == deadline:
                        timed_out = True
                    else:
                        killed_after_reject = True
                    stop(proc)
                    break
                watcher.changed.wait(end - now)
            # Serial EOF normally means QEMU has exited; do not trust it blindly.
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()) + 1)
            except subprocess.TimeoutExpired:
                timed_out = True
                stop(proc)
        finally:
            stop(proc)
            reader.join(timeout=5)
            proc.stdout.close()
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:  # QEMU went first: nothing to flush
                    pass
        elapsed = time.monotonic() - start
    status = proc.returncode
    try:
        if stderr_path.stat().st_size == 0:
            stderr_path.unlink()
    except OSError:
        pass

    failures = []
    if timed_out:
        failures.append(f"timed out after {args.timeout:g} s: QEMU did not exit by itself and was killed")
    elif killed_after_reject:
        failures.append(f"QEMU was killed {args.reject_grace:g} s after a rejected line because it did not exit")
    elif status != args.expect_exit:
        failures.append(f"QEMU exit status {describe_exit(status)}; expected {describe_exit(args.expect_exit)}")
    for pattern in expects:
        if pattern.seen_at is None:
            failures.append(f"expected pattern never seen: /{pattern.text}/")
    for pattern in counts:
        if pattern.count < pattern.min_count:
            failures.append(f"expected pattern /{pattern.text}/ seen on {pattern.count} line(s), "
                            f"wanted at least {pattern.min_count}")
    for number, step in enumerate(steps, 1):
        if step.error:
            failures.append(f"conversation step {number} ({step.text!r} after /{step.pattern.text}/): {step.error}")
            break
        if step.sent_at is None:
            after = f"after sending {steps[number - 2].text!r}" if number > 1 else "from the start"
            failures.append(f"conversation stopped at step {number} of {len(steps)}: /{step.pattern.text}/ "
                            f"never seen {after}, so {step.text!r} was not sent")
            break
    for pattern in rejects:
        if pattern.seen_at is not None:
            failures.append(f"rejected pattern /{pattern.text}/ seen at line {pattern.line_no} "
                            f"({pattern.seen_at:.2f} s): {pattern.line.strip()}")

    timing = None
    if marker is not None:
        if marker.seen_at is not None:
            timing = f"time from QEMU start to '{marker.text}': {marker.seen_at:.2f} s"
            print(timing)
        else:
            print(f"timing marker /{marker.text}/ never seen")

    if not failures:
        print(f"PASS {args.name}: QEMU exit {status} after {elapsed:.2f} s, "
              f"{len(expects)}/{len(expects)} expected patterns seen, none rejected"
              + (f", {len(counts)} counted pattern(s) often enough" if counts else "")
              + (f", {len(steps)}/{len(steps)} conversation steps sent" if steps else "")
              + (f"; boot {marker.seen_at:.2f} s to '{marker.text}'" if timing else "")
              + f"; log {log_path}", flush=True)
        return 0

    print(f"FAIL {args.name}: QEMU status {status if status is not None else 'none'}, {elapsed:.2f} s")
    for failure in failures:
        print(f"  - {failure}")
    seen = [p for p in expects if p.seen_at is not None]
    if seen:
        print("  expected patterns that were seen:")
        for p in seen:
            print(f"    /{p.text}/ at {p.seen_at:.2f} s (line {p.line_no})")
    sent = [step for step in steps if step.sent_at is not None]
    if sent:
        print("  conversation steps sent:")
        for step in sent:
            print(f"    {step.text!r} at {step.sent_at:.2f} s, "
                  f"after /{step.pattern.text}/ matched: {step.pattern.line!r}")
    tail = watcher.lines[-TAIL_LINES:]
    print(f"serial log: {log_path} ({len(watcher.lines)} lines); last {len(tail)} lines:")
    for line in tail:
        print(f"  | {line}")
    try:
        stderr_text = stderr_path.read_text(errors="replace").strip()
    except OSError:  # removed above when empty
        stderr_text = ""
    if stderr_text:
        print(f"QEMU stderr ({stderr_path}):")
        for line in stderr_text.splitlines()[-TAIL_LINES:]:
            print(f"  ! {line}")
    print(f"command: {shlex.join(cmd)}", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
