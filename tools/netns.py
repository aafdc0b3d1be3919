#!/usr/bin/env python3
"""A private network for one QEMU guest: a network namespace with a tap device.

Tests and benchmarks that need a real Ethernet link to Tern (rather than
QEMU's user-mode networking) use this:

    with TapNetwork.create("tern-ping") as net:
        qemu = net.command(qemu_argv)           # runs QEMU inside the namespace
        net.run(["ping", "-c", "3", net.guest])  # any command inside it

It makes a namespace with a unique name, a tap device `tern0` in it with the
address HOST/24 (192.168.77.1 by default), loopback up and IPv6 off (so the
kernel sends no router solicitations or MLD reports onto the link), and QEMU
attaches to that tap (`netdev_option()`). Everything lives inside the
namespace, so traffic never leaves it. `close()` (or leaving the `with`)
deletes the namespace, which deletes the tap with it; a crashed run leaves at
most a namespace named tern-*, which the next `create` of the same prefix
older than its owner process removes.

Needs root (CAP_NET_ADMIN) and iproute2's `ip`. `unavailable()` says why not,
in a sentence, for tests that must skip.

Python 3 standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Optional, Sequence

TAP_NAME = "tern0"
HOST_ADDRESS = "192.168.77.1"
GUEST_ADDRESS = "192.168.77.2"
PREFIX_LENGTH = 24
# The namespace side of the link gets a fixed, locally administered MAC so
# tests can check ARP entries for it.
HOST_MAC = "02:00:00:77:00:01"
# The Ethernet frames tests inject may exceed 1500 bytes on purpose.
TAP_MTU = 9000


class NetnsError(Exception):
    """Setting up the namespace failed; the message says which command and why."""


def unavailable() -> Optional[str]:
    """None when namespaces and taps can be made here, else the reason."""
    if os.geteuid() != 0:
        return ("needs root: it creates a network namespace and a tap device "
                "(CI runs as root; run `sudo ./tern test` to include it)")
    if shutil.which("ip") is None:
        return "iproute2's `ip` is missing; run ./tern setup"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist (no tun/tap support in this kernel or container)"
    return None


def _run(argv: Sequence[str], what: str) -> str:
    result = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise NetnsError(f"{what} failed: `{' '.join(argv)}` exited {result.returncode}: "
                         f"{result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(prefix: str) -> list[str]:
    """Deletes namespaces `<prefix>-<pid>` whose process no longer exists."""
    removed = []
    listing = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(re.escape(prefix) + r"-(\d+)", name)
        if match and not _alive(int(match.group(1))):
            subprocess.run(["ip", "netns", "delete", name], stderr=subprocess.DEVNULL)
            removed.append(name)
    return removed


@dataclass
class TapNetwork:
    namespace: str
    tap: str = TAP_NAME
    host: str = HOST_ADDRESS
    guest: str = GUEST_ADDRESS
    host_mac: str = HOST_MAC
    _open: bool = True

    @classmethod
    def create(cls, prefix: str = "tern") -> "TapNetwork":
        """Makes `<prefix>-<pid>` with the tap up and addressed. Root only."""
        reason = unavailable()
        if reason:
            raise NetnsError(reason)
        remove_stale(prefix)
        net = cls(namespace=f"{prefix}-{os.getpid()}")
        _run(["ip", "netns", "add", net.namespace], "creating the network namespace")
        try:
            for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"):
                # IPv6 off before the tap exists, so it never gets a link-local address.
                path = "/proc/sys/" + key.replace(".", "/")
                net.run(["sh", "-c", f"test ! -e {path} || echo 1 > {path}"], "disabling IPv6")
            net.run(["ip", "link", "set", "lo", "up"], "bringing loopback up")
            net.run(["ip", "tuntap", "add", "dev", net.tap, "mode", "tap"], "creating the tap device")
            net.run(["ip", "link", "set", net.tap, "address", net.host_mac, "mtu", str(TAP_MTU)],
                    "setting the tap's MAC and MTU")
            net.run(["ip", "address", "add", f"{net.host}/{PREFIX_LENGTH}", "dev", net.tap],
                    "addressing the tap")
            net.run(["ip", "link", "set", net.tap, "up"], "bringing the tap up")
        except BaseException:
            net.close()
            raise
        return net

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` as a command that runs inside the namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def run(self, argv: Sequence[str], what: str = "a command in the namespace") -> str:
        """Runs `argv` inside the namespace; returns its output, raises NetnsError on failure."""
        return _run(self.command(argv), what)

    def netdev_option(self) -> str:
        """QEMU's -netdev value that attaches to the tap (QEMU must run inside the namespace)."""
        return f"tap,id=net0,ifname={self.tap},script=no,downscript=no"

    def neighbour(self, address: str) -> Optional[str]:
        """The namespace's ARP entry for `address`: its MAC, or None when unresolved."""
        out = self.run(["ip", "neigh", "show", address, "dev", self.tap], "reading the ARP cache")
        match = re.search(r"lladdr ([0-9a-f:]{17})", out)
        return match.group(1) if match else None

    def close(self) -> None:
        if self._open:
            subprocess.run(["ip", "netns", "delete", self.namespace], stderr=subprocess.DEVNULL)
            self._open = False

    def __enter__(self) -> "TapNetwork":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
