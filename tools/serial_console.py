#!/usr/bin/env python3
"""A QEMU guest's serial console as a pipe: logged as it arrives, matched line
by line, and typed into.

Used by the tests that talk to Tern's shell while other things happen around
it (tests/integration/tap_scenario.py) and by `./tern bench net`
(tools/bench.py), for Tern and for the Linux guest alike.

    console = SerialConsole(argv, log_path)       # starts QEMU
    seen = console.wait_for(re.compile("ready"), 60)
    if seen.match: ...
    console.send("ps")                            # the text and a carriage return
    console.close()                               # QEMU stopped, log closed

Lines are searched after carriage returns and ANSI escape sequences are
removed (clean_line). The line still being printed counts too when asked
(`partial=True`), so a prompt without a newline can be waited for.

Python 3 standard library only.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

ANSI_ESCAPE = re.compile(r"\x1b(\[[0-9;?=]*[ -/]*[@-~]|[()][0-9A-Za-z]|[@-Z\\-_])")
_ANY_LINE = re.compile("")


def clean_line(raw: bytes) -> str:
    """A serial line as regexes see it: no ANSI escapes, no carriage returns."""
    return ANSI_ESCAPE.sub("", raw.decode("utf-8", errors="replace")).replace("\r", "")


def die_with_parent() -> None:
    """In a QEMU child (preexec_fn): get SIGKILL if our process dies, so no
    QEMU outlives the test or benchmark that started it."""
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


def stop(proc: subprocess.Popen) -> None:
    """Terminates a process, then kills it if it does not go within 3 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Seen:
    """What wait_for() found: the matching line's index (len(lines) for the
    partial line) and match; or the line that matched `fail`; or neither
    (timeout, or QEMU ended)."""
    index: Optional[int] = None
    match: Optional[re.Match] = None
    failed: Optional[str] = None


class SerialConsole:
    def __init__(self, argv: Sequence[str], log_path: Path, stderr_path: Optional[Path] = None):
        """Starts `argv` (QEMU with `-serial stdio`). Its stderr goes to
        `stderr_path`, or into the console log. Raises OSError if it cannot start."""
        self.log = open(log_path, "wb")
        self.lines: list[str] = []
        self._partial = b""
        self._cond = threading.Condition()
        self.eof = False
        stderr = open(stderr_path, "wb") if stderr_path else subprocess.STDOUT
        try:
            self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                         preexec_fn=die_with_parent)
        except OSError:
            self.log.close()
            raise
        finally:
            if stderr_path:
                stderr.close()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                break
            if not chunk:
                break
            self.log.write(chunk)
            self.log.flush()
            with self._cond:
                *complete, self._partial = (self._partial + chunk).split(b"\n")
                self.lines.extend(clean_line(raw) for raw in complete)
                self._cond.notify_all()
        with self._cond:
            if self._partial:
                self.lines.append(clean_line(self._partial))
                self._partial = b""
            self.eof = True
            self._cond.notify_all()

    def mark(self) -> int:
        """The position after every complete line so far (for `since`)."""
        with self._cond:
            return len(self.lines)

    def wait_for(self, regex: re.Pattern, timeout: float, since: int = 0, partial: bool = True,
                 fail: Optional[re.Pattern] = None) -> Seen:
        """The first line from `since` on that matches `regex` (with `partial`,
        the line being printed too), unless a line matching `fail` comes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(since, len(self.lines)):
                    line = self.lines[index]
                    match = regex.search(line)
                    if match:
                        return Seen(index, match)
                    if fail is not None and fail.search(line):
                        return Seen(failed=line.strip())
                since = max(since, len(self.lines))
                if partial:
                    match = regex.search(clean_line(self._partial))
                    if match:
                        return Seen(len(self.lines), match)
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    return Seen()
                self._cond.wait(left)

    def fresh_prompt(self, prompt: re.Pattern, timeout: float, retry: float = 2.0) -> bool:
        """Types an empty line and waits for the prompt it brings (other
        processes' messages may have been printed after the last one); True
        once one stands at the end of the output, False if QEMU ended or
        `timeout` passed. A message printed right after the new prompt ends
        its line ("tern> e1000: polling ..."), so without a bare prompt in
        `retry` seconds it asks for another."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            since = self.mark()
            if not self.send(""):
                return False
            # The echoed line end completes the line the previous prompt is
            # on, which must not count (it may still be the partial line now);
            # the fresh prompt is printed after it.
            left = max(deadline - time.monotonic(), 0)
            echoed = self.wait_for(_ANY_LINE, left, since=since, partial=False).match is not None
            left = max(deadline - time.monotonic(), 0)
            if echoed and self.wait_for(prompt, min(retry, left), since=since + 1, partial=True).match:
                return True
            if time.monotonic() >= deadline:
                return False
        return False

    def send(self, text: str) -> bool:
        """Types `text` and a carriage return; False if QEMU is gone."""
        try:
            self.proc.stdin.write(text.encode() + b"\r")
            self.proc.stdin.flush()
            return True
        except (OSError, ValueError):
            return False

    def exited(self, timeout: float) -> Optional[int]:
        """QEMU's exit status once it ends, or None if it is still running after `timeout`."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def all_lines(self) -> list[str]:
        with self._cond:
            return list(self.lines)

    def tail(self, count: int = 15) -> str:
        """The last lines, indented, for failure reports."""
        with self._cond:
            lines = self.lines[-count:] + ([clean_line(self._partial)] if self._partial else [])
        return "\n".join(f"    | {line}" for line in lines) or "    (nothing on the serial console)"

    def close(self) -> None:
        stop(self.proc)
        self._reader.join(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.log.close()
