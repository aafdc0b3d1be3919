#!/usr/bin/env python3
"""Send broken Ethernet frames to Tern from a raw socket, and prove it kept up.

Run inside the test's network namespace (tap_scenario.py does that). Frames
are made from a fixed seed, so every run sends the same ones. They go out in
batches; after each batch a valid ICMP echo request (the probe) goes out and
its reply must come back before the next batch. The link is FIFO, so an
answered probe means Tern has taken every frame before it: none was lost to
an overflowing queue, and the counts printed at the end are exact.

Each kind of frame is made to be dropped for one reason, and the script prints
`expect REASON N` per reason (the names of Tern's `netstat -i`), then
`sent N malformed frames, P probes answered of Q`.

Kinds (the receiver is QEMU's e1000, which pads frames shorter than 60 bytes
with zeros and drops frames longer than 1522 bytes itself):
  runt_ip       15..59 bytes of a datagram that claims 84 bytes   -> ip_bad_total_length
  runt_arp      14..21 bytes of an ARP request (padded: zero fields) -> arp_malformed
                (Linux refuses to send frames shorter than an Ethernet header.)
  oversize      1523..9014 bytes                                  -> nic_oversize (the device's counter)
  version       IP version other than 4                           -> ip_bad_version
  ihl           header length field 0..4                          -> ip_bad_header_length
  total_length  total length under the header or past the frame   -> ip_bad_total_length
  checksum      wrong header checksum                             -> ip_bad_checksum
  flags         the reserved flag bit set                         -> ip_bad_flags
  options       an option with length 0 or past the header        -> ip_bad_options
  overlap       two fragments of one datagram that overlap        -> fragment_overlap
  endless       first fragments whose datagrams never complete    -> reassembly_full (all but the last 8)
  arp           ARP with bogus hardware/protocol types or lengths, or operation -> arp_malformed
  random        random bytes after an Ethernet header to Tern     -> any reason

Python 3 standard library only; needs CAP_NET_RAW (root).
"""

from __future__ import annotations

import argparse
import random
import select
import socket
import struct
import sys
import time
from collections import Counter

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23  # Linux 4.20+
REASSEMBLY_SLOTS = 8  # servers/ip/reassembly.hpp: Reassembler::max_datagrams


def mac_bytes(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Frames:
    """Makes the frames; addresses from the command line."""

    def __init__(self, args: argparse.Namespace, rng: random.Random):
        self.dst_mac = mac_bytes(args.target_mac)
        self.src_mac = mac_bytes(args.source_mac)
        self.dst_ip = socket.inet_aton(args.target_ip)
        self.src_ip = socket.inet_aton(args.source_ip)
        self.rng = rng
        self.ident = 0x1000

    def ethernet(self, ethertype: int, payload: bytes) -> bytes:
        return self.dst_mac + self.src_mac + struct.pack("!H", ethertype) + payload

    def ip_header(self, payload_length: int, *, protocol: int = 17, version: int = 4, ihl: int = 5,
                  total: int | None = None, flags_offset: int = 0, options: bytes = b"",
                  ident: int | None = None, bad_checksum: bool = False) -> bytes:
        if ident is None:
            self.ident = (self.ident + 1) & 0xFFFF
            ident = self.ident
        if total is None:
            total = ihl * 4 + payload_length
        header = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total & 0xFFFF, ident, flags_offset,
                             64, protocol, 0, self.src_ip, self.dst_ip) + options
        sum_ = checksum(header)
        if bad_checksum:
            sum_ ^= 1 + self.rng.randrange(0xFFFE)
        return header[:10] + struct.pack("!H", sum_) + header[12:]

    def datagram(self, payload: bytes, **fields) -> bytes:
        return self.ethernet(ETH_P_IP, self.ip_header(len(payload), **fields) + payload)

    def payload(self, low: int = 8, high: int = 64) -> bytes:
        return bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(low, high)))

    # --- the kinds: each returns a list of frames (usually one) ---

    def runt_ip(self) -> list[bytes]:
        whole = self.datagram(bytes(64))  # claims 20 + 64 = 84 bytes
        return [whole[: self.rng.randrange(15, 60)]]

    def runt_arp(self) -> list[bytes]:
        return [self.arp_request()[: self.rng.randrange(14, 22)]]

    def arp_request(self, htype: int = 1, ptype: int = ETH_P_IP, hlen: int = 6, plen: int = 4, op: int = 1) -> bytes:
        body = struct.pack("!HHBBH", htype, ptype, hlen, plen, op) + self.src_mac + self.src_ip + bytes(6) + self.dst_ip
        return self.ethernet(ETH_P_ARP, body)

    def oversize(self) -> list[bytes]:
        return [self.datagram(bytes(self.rng.randrange(1523, 9015) - 34))]

    def version(self) -> list[bytes]:
        return [self.datagram(self.payload(32), version=self.rng.choice([0, 1, 2, 3, 5, 6, 7, 15]))]

    def ihl(self) -> list[bytes]:
        return [self.datagram(self.payload(32), ihl=self.rng.randrange(0, 5))]

    def total_length(self) -> list[bytes]:
        body = self.payload(32)
        short = self.rng.randrange(0, 20)
        long = 20 + len(body) + self.rng.randrange(1, 1000)
        return [self.datagram(body, total=self.rng.choice([short, long]))]

    def checksum(self) -> list[bytes]:
        return [self.datagram(self.payload(32), bad_checksum=True)]

    def flags(self) -> list[bytes]:
        return [self.datagram(self.payload(32), flags_offset=0x8000)]

    def options(self) -> list[bytes]:
        # Timestamp (0x44) with length 0 or 1, or record route (7) running past the header.
        option = self.rng.choice([b"\x44\x00\x00\x00", b"\x44\x01\x00\x00", b"\x07\x09\x04\x00"])
        return [self.datagram(self.payload(32), ihl=6, options=option)]

    def overlap(self) -> list[bytes]:
        self.ident = (self.ident + 1) & 0xFFFF
        ident = self.ident
        first = bytes(64)
        second = bytes(64)
        # Offsets in 8-byte units: 0..64 and 32..96 overlap; both say "more fragments".
        return [self.datagram(first, flags_offset=0x2000, ident=ident),
                self.datagram(second, flags_offset=0x2000 | 4, ident=ident)]

    def endless(self) -> list[bytes]:
        return [self.datagram(bytes(64), flags_offset=0x2000)]

    def arp(self) -> list[bytes]:
        htype, ptype, hlen, plen, op = 1, ETH_P_IP, 6, 4, 1
        which = self.rng.randrange(5)
        if which == 0:
            hlen = self.rng.choice([0, 1, 5, 7, 16, 255])
        elif which == 1:
            plen = self.rng.choice([0, 1, 3, 6, 16, 255])
        elif which == 2:
            htype = self.rng.choice([0, 6, 0xFFFF])
        elif which == 3:
            ptype = self.rng.choice([0, 0x86DD, 0xFFFF])
        else:
            op = self.rng.choice([0, 3, 9, 0xFFFF])
        return [self.arp_request(htype, ptype, hlen, plen, op)]

    def random(self) -> list[bytes]:
        ethertype = self.rng.choice([ETH_P_IP, ETH_P_ARP, self.rng.randrange(0x600, 0x10000)])
        return [self.ethernet(ethertype, self.payload(0, 1400))]


# kind -> (reason netstat -i counts it under, frames of that kind).
KINDS = {
    "runt_ip": ("ip_bad_total_length", 600),
    "runt_arp": ("arp_malformed", 600),
    "oversize": ("nic_oversize", 300),
    "version": ("ip_bad_version", 900),
    "ihl": ("ip_bad_header_length", 900),
    "total_length": ("ip_bad_total_length", 900),
    "checksum": ("ip_bad_checksum", 900),
    "flags": ("ip_bad_flags", 600),
    "options": ("ip_bad_options", 600),
    "overlap": ("fragment_overlap", 600),
    "endless": ("reassembly_full", 900),
    "arp": ("arp_malformed", 900),
    "random": (None, 1500),
}


class Prober:
    """Echo requests to Tern; each must be answered before the next batch."""

    IDENT = 0x7E57

    def __init__(self, sender: socket.socket, receiver: socket.socket, frames: Frames, timeout: float):
        self.sender = sender
        self.receiver = receiver
        self.frames = frames
        self.timeout = timeout
        self.sent = 0
        self.answered = 0

    def probe(self) -> bool:
        self.sent += 1
        seq = self.sent & 0xFFFF
        icmp = struct.pack("!BBHHH", 8, 0, 0, self.IDENT, seq) + b"tern-probe"
        icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
        self.sender.send(self.frames.datagram(icmp, protocol=1))
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.receiver], [], [], left)
            if not ready:
                continue
            frame = self.receiver.recv(65536)
            if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
                continue
            ihl = (frame[14] & 0xF) * 4
            icmp_reply = frame[14 + ihl:]
            if frame[14 + 9] == 1 and icmp_reply[:1] == b"\x00" and \
                    struct.unpack("!HH", icmp_reply[4:8]) == (self.IDENT, seq):
                self.answered += 1
                return True


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--interface", required=True)
    p.add_argument("--source-mac", required=True)
    p.add_argument("--source-ip", required=True)
    p.add_argument("--target-mac", required=True)
    p.add_argument("--target-ip", required=True)
    p.add_argument("--count", type=int, default=12_000, help="about how many malformed frames (default 12000)")
    p.add_argument("--batch", type=int, default=64, help="malformed frames between two probes (default 64)")
    p.add_argument("--probe-timeout", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--kinds", default=",".join(KINDS), help="which kinds, comma-separated (default: all)")
    args = p.parse_args()

    rng = random.Random(args.seed)
    frames = Frames(args, rng)
    plan = []
    kinds = args.kinds.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        p.error(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")
    scale = args.count / sum(KINDS[k][1] for k in kinds)
    for kind in kinds:
        plan += [kind] * max(1, round(KINDS[kind][1] * scale))
    # Kinds interleave, except that the endless fragments come last: other
    # fragments (overlap) would evict them and muddy the reassembly counts.
    endless = [k for k in plan if k == "endless"]
    plan = [k for k in plan if k != "endless"]
    rng.shuffle(plan)
    plan += endless

    # One socket sends (it receives nothing: protocol 0); the other receives
    # only incoming IPv4, so copies of our own thousands of frames never
    # crowd a probe's reply out of its buffer.
    sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sender.bind((args.interface, 0))
    receiver = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    receiver.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    receiver.bind((args.interface, ETH_P_IP))  # host order here: Python converts it
    prober = Prober(sender, receiver, frames, args.probe_timeout)
    if not prober.probe():
        print("malformed_frames: Tern does not answer the first probe; nothing sent", file=sys.stderr)
        return 1

    expected: Counter[str] = Counter()
    sent = 0
    for start in range(0, len(plan), args.batch):
        for kind in plan[start:start + args.batch]:
            for frame in getattr(frames, kind)():
                sender.send(frame)
                sent += 1
            reason = KINDS[kind][0]
            if reason:
                expected[reason] += 1  # overlap: the second fragment is the one dropped
        prober.probe()
    # Only the last REASSEMBLY_SLOTS endless datagrams stay held (they time out later).
    expected["reassembly_full"] = max(0, expected["reassembly_full"] - REASSEMBLY_SLOTS)
    for reason, n in sorted(expected.items()):
        print(f"expect {reason} {n}")
    made = Counter(plan)
    print("kinds: " + ", ".join(f"{kind} {made[kind]}" for kind in kinds))
    print(f"sent {sent} malformed frames, {prober.answered} probes answered of {prober.sent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
