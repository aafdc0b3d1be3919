"""Reading the kernel's sampling profiler (kernel/profile.hpp) from the host.

With `profile=on` on its command line, Tern records at every timer tick which
process (or the kernel) each core ran and where. The ring of samples sits in
guest memory at an address the kernel logs; QEMU's monitor copies it to a file
(`pmemsave`), and `nm` on each process's ELF names the functions. Used by
`./tern bench stream --profile` (tools/bench.py) around each measurement.
"""

from __future__ import annotations

import bisect
import re
import socket
import struct
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

SAMPLE = struct.Struct("<IHHQ")  # sequence, slot, core, rip (kernel/profile.hpp Sample)
CAPACITY = 1 << 16
KERNEL_SLOT = 0xFFFF
RING_LINE = re.compile(r"profile: sampling every timer tick into (\d+) samples of (\d+) bytes at physical "
                       r"(0x[0-9a-f]+)")


class ProfileError(Exception):
    """The profile could not be read; the message says why."""


@dataclass(frozen=True)
class Sample:
    sequence: int
    slot: int
    core: int
    rip: int


def ring_address(serial_text: str) -> int:
    """The ring's physical address, from the kernel's log line."""
    match = RING_LINE.search(serial_text)
    if not match:
        raise ProfileError("the kernel did not log its profile ring (booted without profile=on?)")
    count, size, address = int(match.group(1)), int(match.group(2)), int(match.group(3), 16)
    if count != CAPACITY or size != SAMPLE.size:
        raise ProfileError(f"the kernel's ring holds {count} samples of {size} bytes; this tool reads "
                           f"{CAPACITY} of {SAMPLE.size}")
    return address


def parse_ring(data: bytes) -> list[Sample]:
    """The written samples of a ring dump, oldest first."""
    if len(data) != CAPACITY * SAMPLE.size:
        raise ProfileError(f"ring dump of {len(data)} bytes, expected {CAPACITY * SAMPLE.size}")
    samples = [Sample(*SAMPLE.unpack_from(data, i * SAMPLE.size)) for i in range(CAPACITY)]
    return sorted((s for s in samples if s.sequence != 0), key=lambda s: s.sequence)


class Symbols:
    """Function names of one ELF, by address (`nm`)."""

    def __init__(self, elf: Path):
        self.starts: list[int] = []
        self.names: list[str] = []
        try:
            out = subprocess.run(["nm", "-C", "--defined-only", "-n", str(elf)], capture_output=True, text=True,
                                 check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return
        self.add_nm_output(out)

    def add_nm_output(self, text: str) -> None:
        for line in text.splitlines():
            fields = line.split(" ", 2)
            if len(fields) == 3 and fields[1] in "tTwW":
                self.starts.append(int(fields[0], 16))
                self.names.append(fields[2])

    def name(self, address: int) -> str:
        i = bisect.bisect_right(self.starts, address) - 1
        return self.names[i] if i >= 0 else f"0x{address:x}"


def summary(samples: Iterable[Sample], process_names: dict[int, str], symbols: dict[str, Symbols],
            top: int = 25) -> list[str]:
    """Report lines: each core's share by process, then the busiest functions
    across both cores (as shares of all samples)."""
    samples = list(samples)
    if not samples:
        return ["no samples (was the run shorter than a timer tick?)"]

    def who(s: Sample) -> str:
        return "kernel" if s.slot == KERNEL_SLOT else process_names.get(s.slot, f"slot {s.slot}")

    lines = [f"{len(samples)} samples"]
    for core in sorted({s.core for s in samples}):
        mine = [s for s in samples if s.core == core]
        shares = Counter(who(s) for s in mine)
        lines.append(f"core {core}: " + ", ".join(f"{name} {n * 100 / len(mine):.0f}%"
                                                  for name, n in shares.most_common()))
    functions = Counter()
    for s in samples:
        name = who(s)  # "kernel" is named from kernel.elf when given
        if name in symbols:
            functions[(name, symbols[name].name(s.rip))] += 1
    for (name, function), n in functions.most_common(top):
        lines.append(f"{n * 100 / len(samples):5.1f}%  {name:8} {function}")
    return lines


class Monitor:
    """QEMU's human monitor on a Unix socket (`-monitor unix:PATH,server,nowait`)."""

    def __init__(self, path: Path):
        self.path = path

    def command(self, text: str, timeout: float = 5.0) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.path))
            reply = self._until_prompt(sock, timeout)
            sock.sendall(text.encode() + b"\n")
            reply = self._until_prompt(sock, timeout)
        return reply

    @staticmethod
    def _until_prompt(sock: socket.socket, timeout: float) -> str:
        data, deadline = b"", time.monotonic() + timeout
        while not data.rstrip().endswith(b"(qemu)") and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")


def read_ring(monitor: Monitor, address: int, dump: Path) -> list[Sample]:
    """The ring as it is now (QEMU writes `dump`; the guest keeps running)."""
    dump.unlink(missing_ok=True)
    # The file name in quotes: unquoted, "/tmp/x" would be read as a division.
    reply = monitor.command(f'pmemsave 0x{address:x} {CAPACITY * SAMPLE.size} "{dump}"')
    if not dump.exists():
        raise ProfileError(f"QEMU's monitor did not write {dump}: {reply.strip()[-200:]}")
    return parse_ring(dump.read_bytes())


def newer_than(samples: list[Sample], sequence: int) -> list[Sample]:
    return [s for s in samples if s.sequence > sequence]


def latest(samples: list[Sample]) -> int:
    return samples[-1].sequence if samples else 0


def process_names(ps_lines: Iterable[str]) -> dict[int, str]:
    """slot -> name from the shell's `ps` output."""
    names = {}
    for line in ps_lines:
        fields = line.split()
        if len(fields) >= 3 and fields[0].isdigit() and fields[1].startswith("0x"):
            names[int(fields[0])] = fields[2]
    return names


def symbols_for(names: Iterable[str], elf_dir: Path) -> dict[str, Symbols]:
    """Each process's symbols, from elf_dir/NAME.elf where there is one
    ("kernel": the kernel's, kernel.elf, which tells the idle thread's halt
    from system calls)."""
    return {name: Symbols(elf_dir / f"{name}.elf") for name in set(names) if (elf_dir / f"{name}.elf").exists()}

