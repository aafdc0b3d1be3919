#!/usr/bin/env python3
"""Issue 6 acceptance: TCP and UDP through Tern's tcp and udp servers, driven
from the host (user-mode networking with hostfwd) and from a tap namespace.

Cases (one per CTest test; each boots its own QEMU):

  sock.tcp_echo_64m        64 MiB of random bytes to inetd's TCP echo (guest
                           port 7, through hostfwd), sent and received at the
                           same time; the SHA-256 of what comes back equals the
                           input's, and inetd closes after the last byte.
  sock.tcp_echo_concurrent 64 connections at once, 1 MiB each, every byte of
                           every one compared.
  sock.tern_to_host        a host server on 127.0.0.1:<free port>; Tern's shell
                           runs `nc -n 33554432 10.0.2.2 <port>` (QEMU maps
                           10.0.2.2 to the host's loopback). The host's SHA-256
                           of what arrived equals the one nc printed and the
                           one of the xorshift64* stream it documents.
  sock.udp_echo            10,000 datagrams of 1..1472 bytes to UDP echo
                           (guest port 7), 32 in flight; every answer equals
                           its datagram. A datagram unanswered after 1 s is
                           sent again and counted; more than 10 resends (0.1 %)
                           fail the case (loopback-backed user-mode networking
                           should lose none). Then 8 KiB datagrams (fragmented
                           both ways) come back whole.
  sock.http_status         the host's curl fetches /status.txt (200, numbers
                           where numbers belong, the servers running), / (HTML)
                           and /nope (404).
  tap.tcp_rst              (root) from the namespace, connecting to a closed
                           Tern port fails with ECONNREFUSED within 1 s: an RST.
  tap.syn_flood            (root) 10,000 SYNs from random source ports through a
                           raw socket while a real connection to the echo port
                           moves 1 MiB both ways; the real one completes and
                           every byte is right.
  tap.tcp_malformed        (root) segments with bad checksums and with malformed
                           options, sent raw in batches, each batch followed by
                           a real connection (the link and the channels are in
                           order, so once it is accepted the batch has been
                           judged); `netstat -s` then shows exactly as many more
                           under the tcp server's counters `bad_checksum` and
                           `bad_options`.

Tern boots with `test=processes` (poweroff ends QEMU with 33). The tcp and udp
servers must be running (`ps`); inetd and httpd are started with `run` if
boot/modules.txt does not start them. Over user-mode networking Tern gets
10.0.2.15 by DHCP; on the tap it is 192.168.77.2/24 (tools/netns.py).

Also:
  selftest                 the host-side pieces (echo clients, UDP windowing and
                           resends, the hashing server, the generator, raw TCP
                           segments, the status-text parser) against Linux's
                           own sockets on 127.0.0.1; no QEMU.
  ns-helper WHAT ...       run inside the namespace by the tap cases.

Exit status: 0 pass, 1 fail, 2 usage or environment error, 77 skipped (tap
cases without root).
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import random
import re
import selectors
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(REPO_ROOT / "tools"))
sys.path.insert(0, str(HERE))
import qemu as qemu_tool  # noqa: E402
import netns  # noqa: E402
from tap_scenario import Console, Failure, warm_up  # noqa: E402

SKIP = 77
MIB = 1024 * 1024
ECHO_PORT = 7
HTTP_PORT = 80
CLOSED_PORT = 5999
TAP_SERVICES = ("ip", "e1000", "tcp", "udp")  # must never restart during a case

# Counter names the tcp server reports (transport_control::counter) for the
# segments tap.tcp_malformed sends. Change here if the server names them
# differently.
COUNTER_BAD_CHECKSUM = "bad_checksum"
COUNTER_BAD_OPTIONS = "bad_options"


# --- the test data generator: lib/base/xorshift.hpp, byte for byte -----------------------

def xorshift_stream(seed: int, length: int) -> bytes:
    """xorshift64*: state = seed (0x9E3779B97F4A7C15 for 0); per 8 bytes:
    state ^= state >> 12; ^= state << 25; ^= state >> 27; the word
    state * 0x2545F4914F6CDD1D mod 2^64, least significant byte first."""
    mask = (1 << 64) - 1
    state = seed or 0x9E3779B97F4A7C15
    pack = struct.Struct("<Q").pack
    words = []
    for _ in range((length + 7) // 8):
        state ^= state >> 12
        state ^= (state << 25) & mask
        state ^= state >> 27
        words.append(pack((state * 0x2545F4914F6CDD1D) & mask))
    return b"".join(words)[:length]


# --- host-side traffic (used by the cases and by `selftest`) ----------------------------

class Stats(dict):
    """What a traffic function measured; printed as notes."""


def size_text(nbytes: int) -> str:
    return f"{nbytes // MIB} MiB" if nbytes % MIB == 0 else f"{nbytes // 1024} KiB" if nbytes % 1024 == 0 \
        else f"{nbytes} bytes"


def rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / MIB / max(seconds, 1e-9):.2f} MB/s"


def tcp_echo_stream(host: str, port: int, total: int, seed: int, timeout: float) -> Stats:
    """Sends `total` random bytes and reads the echo at the same time (two
    threads); checks the length and SHA-256 and that the server closes after
    the last byte. Raises Failure."""
    rng = random.Random(seed)
    sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
    deadline = time.monotonic() + timeout
    sock = socket.create_connection((host, port), timeout=30)
    sock.settimeout(60)  # no byte for a minute: stalled
    errors: list[str] = []
    sent = [0]

    def sender() -> None:
        try:
            while sent[0] < total:
                chunk = rng.randbytes(min(256 * 1024, total - sent[0]))
                sent_hash.update(chunk)
                sock.sendall(chunk)
                sent[0] += len(chunk)
            sock.shutdown(socket.SHUT_WR)
        except OSError as err:
            errors.append(f"send failed after {sent[0]} bytes: {err}")

    start = time.monotonic()
    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    received = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise Failure(f"echo not done within {timeout:g} s: {received} of {total} bytes back")
            try:
                chunk = sock.recv(256 * 1024)
            except socket.timeout:
                raise Failure(f"echo stalled: nothing for 60 s after {received} of {total} bytes "
                              f"({sent[0]} sent)") from None
            except OSError as err:
                raise Failure(f"recv failed after {received} bytes: {err}") from None
            if not chunk:
                break
            got_hash.update(chunk)
            received += len(chunk)
            if received > total:
                raise Failure(f"more came back ({received}) than was sent ({total})")
    finally:
        thread.join(timeout=30)
        sock.close()
    seconds = time.monotonic() - start
    if errors:
        raise Failure(errors[0])
    if received != total:
        raise Failure(f"the server closed after {received} of {total} bytes")
    if got_hash.digest() != sent_hash.digest():
        raise Failure(f"SHA-256 of the echo {got_hash.hexdigest()} != input {sent_hash.hexdigest()}")
    return Stats(bytes=total, seconds=seconds, sha256=sent_hash.hexdigest(),
                 note=f"{size_text(total)} echoed in {seconds:.1f} s ({rate(total, seconds)} each way), "
                      f"sha256 {sent_hash.hexdigest()[:16]}... equal")


def tcp_echo_concurrent(host: str, port: int, connections: int, size: int, seed: int, timeout: float) -> Stats:
    """`connections` echo connections at once (one selector), `size` bytes
    each; every byte compared, every connection must see the server close
    after its last byte. Raises Failure naming the first bad connection."""
    rng = random.Random(seed)
    deadline = time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    conns = []
    start = time.monotonic()
    for index in range(connections):
        sock = socket.create_connection((host, port), timeout=30)
        sock.setblocking(False)
        conn = {"index": index, "sock": sock, "data": rng.randbytes(size), "sent": 0, "received": 0,
                "shut": False, "done": False}
        conns.append(conn)
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
    open_count = connections
    last_progress = time.monotonic()
    try:
        while open_count:
            now = time.monotonic()
            if now > deadline:
                raise Failure(f"not done within {timeout:g} s: {connections - open_count} of {connections} "
                              f"finished; " + summary(conns))
            if now - last_progress > 60:
                raise Failure("no progress for 60 s; " + summary(conns))
            for key, events in selector.select(timeout=1.0):
                conn = key.data
                sock = conn["sock"]
                if events & selectors.EVENT_WRITE and not conn["shut"]:
                    try:
                        n = sock.send(memoryview(conn["data"])[conn["sent"]:conn["sent"] + 65536])
                    except BlockingIOError:
                        n = 0
                    except OSError as err:
                        raise Failure(f"connection {conn['index']}: send after {conn['sent']} bytes: {err}") from None
                    conn["sent"] += n
                    if n:
                        last_progress = time.monotonic()
                    if conn["sent"] == size:
                        sock.shutdown(socket.SHUT_WR)
                        conn["shut"] = True
                        selector.modify(sock, selectors.EVENT_READ, conn)
                if events & selectors.EVENT_READ:
                    try:
                        chunk = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError as err:
                        raise Failure(f"connection {conn['index']}: recv after {conn['received']} bytes: "
                                      f"{err}") from None
                    if chunk:
                        at = conn["received"]
                        expected = conn["data"][at:at + len(chunk)]
                        if len(expected) < len(chunk):
                            raise Failure(f"connection {conn['index']}: more came back than was sent")
                        if chunk != expected:
                            first = next(i for i, (a, b) in enumerate(zip(chunk, expected)) if a != b)
                            raise Failure(f"connection {conn['index']}: byte {at + first} of the echo differs")
                        conn["received"] += len(chunk)
                        last_progress = time.monotonic()
                    else:
                        if conn["received"] != size:
                            raise Failure(f"connection {conn['index']}: the server closed after "
                                          f"{conn['received']} of {size} bytes")
                        conn["done"] = True
                        selector.unregister(sock)
                        sock.close()
                        open_count -= 1
    finally:
        for conn in conns:
            if not conn["done"]:
                conn["sock"].close()
        selector.close()
    seconds = time.monotonic() - start
    total = connections * size
    return Stats(bytes=total, seconds=seconds,
                 note=f"{connections} connections x {size_text(size)} echoed and compared in {seconds:.1f} s "
                      f"({rate(total, seconds)} each way)")


def summary(conns: list[dict]) -> str:
    stuck = [c for c in conns if not c["done"]][:5]
    return ", ".join(f"#{c['index']}: sent {c['sent']}, back {c['received']}" for c in stuck)


def udp_echo(host: str, port: int, count: int, window: int, resend_after: float, max_resends: int,
             sizes: tuple[int, int], seed: int, timeout: float) -> Stats:
    """`count` datagrams of random sizes, `window` in flight; each answer must
    equal an outstanding datagram. Unanswered after `resend_after` s: sent
    again and counted; more than `max_resends` fail. Raises Failure."""
    rng = random.Random(seed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((host, port))
    sock.settimeout(0.05)
    outstanding: dict[bytes, list] = {}  # payload -> [sent at, tries]
    answered: set[bytes] = set()
    resends = duplicates = sent = done = 0
    start = time.monotonic()
    deadline = start + timeout
    try:
        while done < count:
            while sent < count and len(outstanding) < window:
                payload = rng.randbytes(rng.randint(*sizes))
                while payload in outstanding or payload in answered:
                    payload = rng.randbytes(len(payload))  # short ones may repeat: keep each unique
                sock.send(payload)
                outstanding[payload] = [time.monotonic(), 1]
                sent += 1
            try:
                reply = sock.recv(65536)
            except socket.timeout:
                reply = None
            except ConnectionRefusedError:
                raise Failure("ICMP port unreachable: nothing serves UDP echo") from None
            now = time.monotonic()
            if reply is not None:
                if reply in outstanding:
                    del outstanding[reply]
                    answered.add(reply)
                    done += 1
                elif reply in answered:
                    duplicates += 1  # the answer to a resend
                else:
                    raise Failure(f"an answer of {len(reply)} bytes matches no datagram sent "
                                  f"(after {done} good answers)")
            for payload, entry in outstanding.items():
                if now - entry[0] > resend_after:
                    if entry[1] >= 5:
                        raise Failure(f"a datagram of {len(payload)} bytes was not answered after 5 tries")
                    sock.send(payload)
                    entry[0] = now
                    entry[1] += 1
                    resends += 1
            if resends > max_resends:
                raise Failure(f"{resends} datagrams had to be sent again (at most {max_resends} allowed) "
                              f"after {done} answers")
            if now > deadline:
                raise Failure(f"not done within {timeout:g} s: {done} of {count} answered")
    finally:
        sock.close()
    seconds = time.monotonic() - start
    return Stats(count=count, resends=resends, duplicates=duplicates, seconds=seconds,
                 note=f"{count} datagrams of {sizes[0]}..{sizes[1]} bytes echoed equal in {seconds:.1f} s "
                      f"({count / seconds:.0f}/s, {window} in flight), {resends} resent, "
                      f"{duplicates} duplicate answers")


class HashingServer:
    """A TCP server on 127.0.0.1 that takes one connection, hashes everything
    until the peer's end, then closes."""

    def __init__(self, timeout: float):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(timeout)
        self.port = self.listener.getsockname()[1]
        self.hash = hashlib.sha256()
        self.received = 0
        self.error: Optional[str] = None
        self.seconds = 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
            conn.settimeout(60)
            start = time.monotonic()
            with conn:
                while True:
                    chunk = conn.recv(256 * 1024)
                    if not chunk:
                        break
                    self.hash.update(chunk)
                    self.received += len(chunk)
            self.seconds = time.monotonic() - start
        except OSError as err:
            self.error = f"{type(err).__name__}: {err} after {self.received} bytes"
        finally:
            self.listener.close()
            self.done.set()


def parse_status_text(text: str) -> tuple[dict[str, int], list[list[str]]]:
    """httpd's /status.txt: ({key: number}, [socket line words]). Raises
    Failure on a line that is neither `KEY NUMBER` nor a socket line."""
    values: dict[str, int] = {}
    sockets = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if words and words[0] == "socket":
            if len(words) != 10 or not all(w.isdigit() for w in (words[5], words[6], words[8], words[9])):
                raise Failure(f"status.txt line {number}: a socket line that does not parse: {line!r}")
            sockets.append(words[1:])
            continue
        if len(words) == 2 and re.fullmatch(r"[A-Za-z0-9_.-]+", words[0]):
            value = words[1]
            if re.fullmatch(r"[0-9]+", value):
                values[words[0]] = int(value)
                continue
            if words[0].endswith(".endpoint") and re.fullmatch(r"0x[0-9a-f]+", value):
                values[words[0]] = int(value, 16)
                continue
        raise Failure(f"status.txt line {number} is not `KEY NUMBER`: {line!r}")
    return values, sockets


# --- raw TCP segments (tap cases, from the namespace) -----------------------------------

def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_packet(src: str, dst: str, sport: int, dport: int, flags: int, *, seq: int = 0, ack: int = 0,
               options: bytes = b"", payload: bytes = b"", bad_checksum: bool = False, ident: int = 0,
               rng: Optional[random.Random] = None) -> bytes:
    """An IPv4 datagram with one TCP segment. Options are used as given (the
    caller pads them to a multiple of 4 bytes)."""
    assert len(options) % 4 == 0
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, ((20 + len(options)) // 4) << 4, flags, 65535, 0,
                         0) + options
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    sum_ = checksum(pseudo + header + payload)
    if bad_checksum:
        sum_ ^= 1 + (rng or random).randrange(0xFFFE)
    segment = header[:16] + struct.pack("!H", sum_) + header[18:] + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), ident, 0x4000, 64, 6, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + segment


# The flood's source ports: below Linux's ephemeral range (32768-60999), so no
# SYN of the flood ever names the real connection (a SYN inside an
# established connection's window rightly resets it).
FLOOD_PORTS = (1024, 32768)
MSS_OPTION = b"\x02\x04\x05\xb4"
# Options that no parser may follow: a length of 0 or 1 (a naive loop never
# ends), or a length that runs past the header.
MALFORMED_OPTIONS = (
    b"\x02\x00\x05\xb4",                  # MSS with length 0
    b"\x03\x01\x07\x00",                  # window scale with length 1
    MSS_OPTION + b"\x08\x0a\x00\x00",     # timestamps claiming 10 bytes, 4 left
    b"\x01\x01\x04\x09",                  # SACK-permitted with length 9 past the end
)


def raw_sender() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)


# --- namespace helpers (run inside it through `ns-helper`) ------------------------------

def helper_refused(guest: str, port: int, attempts: int) -> dict:
    results = []
    for _ in range(attempts):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(5)
        start = time.monotonic()
        try:
            sock.connect((guest, port))
            outcome = "connected"
        except OSError as err:
            outcome = errno.errorcode.get(err.errno, str(err)) if err.errno else type(err).__name__
        finally:
            sock.close()
        results.append({"outcome": outcome, "ms": round((time.monotonic() - start) * 1000, 1)})
    return {"results": results}


def helper_syn_flood(host: str, guest: str, syns: int, echo_bytes: int) -> dict:
    rng = random.Random(6)
    sender = raw_sender()
    flood = {"sent": 0, "seconds": 0.0}
    started = threading.Event()

    def flooder() -> None:
        # Bursts of 50 every 10 ms: the flood lasts a few seconds, long
        # enough to surround the real connection.
        start = time.monotonic()
        for i in range(syns):
            packet = tcp_packet(host, guest, rng.randrange(*FLOOD_PORTS), ECHO_PORT, TCP_SYN,
                                seq=rng.randrange(1 << 32), options=MSS_OPTION, ident=i & 0xFFFF)
            sender.sendto(packet, (guest, 0))
            flood["sent"] += 1
            if i == syns // 10:
                started.set()
            if i % 50 == 49:
                time.sleep(0.01)
        flood["seconds"] = time.monotonic() - start
        started.set()

    thread = threading.Thread(target=flooder, daemon=True)
    thread.start()
    started.wait(60)
    # A real connection in the middle of the flood: it must complete.
    result: dict = {"syns_before_connect": flood["sent"]}
    start = time.monotonic()
    try:
        stats = tcp_echo_stream(guest, ECHO_PORT, echo_bytes, seed=61, timeout=120)
        result.update(echo="ok", note=stats["note"])
    except (Failure, OSError) as err:
        result.update(echo="failed", error=str(err))
    result["syns_when_echo_done"] = flood["sent"]
    result["echo_seconds"] = round(time.monotonic() - start, 2)
    thread.join(120)
    result.update(syns=flood["sent"], flood_seconds=round(flood["seconds"], 2))
    # And one after it.
    try:
        after = tcp_echo_stream(guest, ECHO_PORT, 64 * 1024, seed=62, timeout=60)
        result["after"] = after["note"]
    except (Failure, OSError) as err:
        result["after"] = f"failed: {err}"
    return result


def helper_malformed(host: str, guest: str, per_kind: int, batch: int) -> dict:
    rng = random.Random(8)
    sender = raw_sender()
    counts = {COUNTER_BAD_CHECKSUM: 0, COUNTER_BAD_OPTIONS: 0}
    probes = 0
    ident = 0
    while counts[COUNTER_BAD_CHECKSUM] < per_kind or counts[COUNTER_BAD_OPTIONS] < per_kind:
        for _ in range(batch):
            ident = (ident + 1) & 0xFFFF
            sport = rng.randrange(1024, 65536)
            if counts[COUNTER_BAD_CHECKSUM] < per_kind and (rng.random() < 0.5 or counts[COUNTER_BAD_OPTIONS] >= per_kind):
                flags = rng.choice([TCP_SYN, TCP_ACK, TCP_ACK | TCP_PSH, TCP_FIN | TCP_ACK])
                packet = tcp_packet(host, guest, sport, ECHO_PORT, flags, seq=rng.randrange(1 << 32),
                                    ack=rng.randrange(1 << 32), options=MSS_OPTION if flags == TCP_SYN else b"",
                                    payload=rng.randbytes(rng.randrange(0, 64)) if flags & TCP_ACK else b"",
                                    bad_checksum=True, ident=ident, rng=rng)
                counts[COUNTER_BAD_CHECKSUM] += 1
            elif counts[COUNTER_BAD_OPTIONS] < per_kind:
                packet = tcp_packet(host, guest, sport, ECHO_PORT, TCP_SYN, seq=rng.randrange(1 << 32),
                                    options=rng.choice(MALFORMED_OPTIONS), ident=ident)
                counts[COUNTER_BAD_OPTIONS] += 1
            else:
                break
            sender.sendto(packet, (guest, 0))
        # The probe: a real connection. Frames, ip's channel and the tcp
        # server are all in order, so once it is accepted, every segment
        # before it has been judged.
        with socket.create_connection((guest, ECHO_PORT), timeout=10):
            probes += 1
    return {"expect": counts, "probes": probes}


def ns_helper(argv: list[str]) -> int:
    what, args = argv[0], argv[1:]
    if what == "refused":
        result = helper_refused(args[0], int(args[1]), int(args[2]))
    elif what == "syn_flood":
        result = helper_syn_flood(args[0], args[1], int(args[2]), int(args[3]))
    elif what == "malformed":
        result = helper_malformed(args[0], args[1], int(args[2]), int(args[3]))
    elif what == "echo":
        result = {"note": tcp_echo_stream(args[0], ECHO_PORT, int(args[1]), seed=9, timeout=60)["note"]}
    else:
        print(f"ns-helper: unknown {what!r}", file=sys.stderr)
        return 2
    print(json.dumps(result), flush=True)
    return 0


def run_ns_helper(net: netns.TapNetwork, *args: str, timeout: float) -> dict:
    cmd = net.command([sys.executable, str(Path(__file__).resolve()), "ns-helper", *args])
    try:
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Failure(f"ns-helper {args[0]} did not finish within {timeout:g} s") from None
    if result.returncode != 0:
        raise Failure(f"ns-helper {args[0]} exited {result.returncode}: {result.stderr.strip()[-800:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Tern's side ------------------------------------------------------------------------

def process_table(console: Console) -> dict[str, int]:
    """`ps`: name -> restarts."""
    table = {}
    for line in console.command("ps"):
        fields = line.split()
        if len(fields) >= 6 and fields[0].isdigit() and fields[5].isdigit():
            table[fields[2]] = int(fields[5])
    return table


def ensure_services(console: Console, apps: tuple[str, ...]) -> list[str]:
    """The tcp and udp servers must run; `apps` are started if they do not."""
    notes = []
    table = process_table(console)
    missing = [name for name in ("tcp", "udp") if name not in table]
    if missing:
        raise Failure(f"the {' and '.join(missing)} server(s) are not running (ps lists {sorted(table)}); "
                      f"issue 6's servers must boot for this test")
    started_lines = {"inetd": r"inetd: echo tcp/udp|inetd: cannot", "httpd": r"httpd: serving|httpd: cannot"}
    for app in apps:
        already = any(re.search(started_lines[app], line) for line in console.all_lines())
        if app in table and already:
            continue
        if app not in table:
            since = console.type(f"run {app}")
            notes.append(f"started {app} with `run`")
        else:
            since = 0
        line = console.wait(started_lines[app], 30, since=since).group(0)
        if "cannot" in line:
            raise Failure(f"{app} could not start: " + next(l for l in console.all_lines() if f"{app}: cannot" in l))
    return notes


def check_no_restarts(console: Console, names: tuple[str, ...]) -> None:
    table = process_table(console)
    for name in names:
        if table.get(name, 0) != 0:
            raise Failure(f"{name} was restarted {table[name]} time(s)")
    for line in console.all_lines():
        if re.search(r"rs: '(%s)' (crashed|hung|ended|was killed)|EXCEPTION|PANIC" % "|".join(names), line):
            raise Failure(f"serial console: {line}")


def tcp_counters(console: Console) -> dict[str, int]:
    """The tcp server's counters from `netstat -s`."""
    counters: dict[str, int] = {}
    section = None
    for line in console.command("netstat -s"):
        header = re.match(r"^(tcp|udp):$", line)
        if header:
            section = header.group(1)
            continue
        match = re.match(r"^\s+(\S+)\s+(\d+)", line)
        if match and section == "tcp":
            counters[match.group(1)] = int(match.group(2))
        if "tcp server is not running" in line:
            raise Failure("netstat -s: the tcp server is not running")
    if not counters:
        raise Failure("netstat -s listed no tcp counters")
    return counters


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the cases --------------------------------------------------------------------------

def case_tcp_echo_64m(console: Console, ports: dict) -> list[str]:
    return [tcp_echo_stream("127.0.0.1", ports["tcp_echo"], 64 * MIB, seed=64, timeout=400)["note"]]


def case_tcp_echo_concurrent(console: Console, ports: dict) -> list[str]:
    return [tcp_echo_concurrent("127.0.0.1", ports["tcp_echo"], 64, MIB, seed=65, timeout=400)["note"]]


def case_tern_to_host(console: Console, ports: dict) -> list[str]:
    size, seed = 32 * MIB, 1
    expected: dict = {}
    generator = threading.Thread(target=lambda: expected.update(
        hash=hashlib.sha256(xorshift_stream(seed, size)).hexdigest()), daemon=True)
    generator.start()
    server = HashingServer(timeout=120)
    since = console.type(f"nc -n {size} -s {seed} 10.0.2.2 {server.port}")
    line = console.wait(r"^nc: (?!listening).*", 400, since=since).group(0)
    match = re.match(r"^nc: sent (\d+) bytes in (\d+) ms \(([0-9.]+) Mb/s\) sha256 ([0-9a-f]{64})$", line)
    if not match:
        raise Failure(f"nc did not send it all: {line}")
    server.done.wait(60)
    generator.join(60)
    if server.error:
        raise Failure(f"the host server: {server.error}")
    host_hash = server.hash.hexdigest()
    if server.received != size or int(match.group(1)) != size:
        raise Failure(f"nc says it sent {match.group(1)} bytes, the host received {server.received}, "
                      f"expected {size}")
    if match.group(4) != host_hash:
        raise Failure(f"sha256: nc printed {match.group(4)}, the host received {host_hash}")
    if expected.get("hash") != host_hash:
        raise Failure(f"sha256 of what arrived {host_hash} is not that of the xorshift64* stream "
                      f"{expected.get('hash')}")
    return [f"nc sent {size // MIB} MiB to the host in {int(match.group(2)) / 1000:.1f} s "
            f"({match.group(3)} Mb/s, {rate(size, int(match.group(2)) / 1000)}); host, nc and generator "
            f"sha256 {host_hash[:16]}... equal"]


def case_udp_echo(console: Console, ports: dict) -> list[str]:
    small = udp_echo("127.0.0.1", ports["udp_echo"], 10_000, window=32, resend_after=1.0, max_resends=10,
                     sizes=(1, 1472), seed=7, timeout=300)
    large = udp_echo("127.0.0.1", ports["udp_echo"], 20, window=4, resend_after=2.0, max_resends=2,
                     sizes=(8192, 8192), seed=8, timeout=120)
    return [small["note"], "8 KiB datagrams (fragmented both ways): " + large["note"]]


def curl(url: str) -> tuple[int, dict[str, str], bytes]:
    result = subprocess.run(["curl", "-sS", "-i", "--max-time", "30", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise Failure(f"curl {url} exited {result.returncode}: {result.stderr.decode(errors='replace').strip()}")
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0])
    if not status:
        raise Failure(f"curl {url}: not an HTTP status line: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("content-length") != str(len(body)):
        raise Failure(f"curl {url}: Content-Length {headers.get('content-length')} but {len(body)} bytes came")
    if headers.get("connection", "").lower() != "close":
        raise Failure(f"curl {url}: no `Connection: close` ({headers})")
    return int(status.group(1)), headers, body


def case_http_status(console: Console, ports: dict) -> list[str]:
    if shutil.which("curl") is None:
        raise Failure("curl is missing; run ./tern setup")
    base = f"http://127.0.0.1:{ports['http']}"
    start = time.monotonic()
    status, headers, body = curl(base + "/status.txt")
    seconds = time.monotonic() - start
    if status != 200 or not headers.get("content-type", "").startswith("text/plain"):
        raise Failure(f"/status.txt: {status} {headers.get('content-type')}")
    values, sockets = parse_status_text(body.decode())
    for key in ("uptime_ms", "ip.running", "tcp.running", "udp.running", "ip.eth0.rx_packets", "tcp.sockets"):
        if key not in values:
            raise Failure(f"/status.txt has no {key}:\n{body.decode()}")
    for key in ("ip.running", "tcp.running", "udp.running"):
        if values[key] != 1:
            raise Failure(f"/status.txt: {key} {values[key]}")
    if not any(s[0] == "tcp" and s[1].endswith(":80") and s[3] == "LISTEN" for s in sockets):
        raise Failure(f"/status.txt lists no tcp socket listening on port 80: {sockets}")
    restarts = {k: v for k, v in values.items() if k.startswith("service.") and k.endswith(".restarts")}
    if "service.httpd.restarts" not in restarts:
        raise Failure(f"/status.txt has no restarts for httpd: {sorted(restarts)}")
    status2, _, body2 = curl(base + "/status.txt")
    values2, _ = parse_status_text(body2.decode())
    if status2 != 200 or values2["uptime_ms"] <= values["uptime_ms"]:
        raise Failure(f"a second /status.txt: {status2}, uptime {values['uptime_ms']} -> {values2.get('uptime_ms')}")
    status, headers, html = curl(base + "/")
    if status != 200 or "text/html" not in headers.get("content-type", "") or b"<title>Tern status</title>" not in html:
        raise Failure(f"/: {status} {headers.get('content-type')} {html[:200]!r}")
    status, _, _ = curl(base + "/nope")
    if status != 404:
        raise Failure(f"/nope: {status}, expected 404")
    with socket.create_connection(("127.0.0.1", ports["http"]), timeout=30) as sock:
        sock.sendall(b"\x16\x03\x01garbage\r\n\r\n")
        sock.settimeout(30)
        answer = sock.recv(4096)
    if not answer.startswith(b"HTTP/1.1 400 "):
        raise Failure(f"garbage: {answer[:80]!r}, expected 400")
    return [f"curl: /status.txt 200 ({len(body)} bytes, {len(values)} counters, {len(sockets)} sockets, "
            f"{seconds * 1000:.0f} ms), / 200 HTML ({len(html)} bytes), /nope 404, garbage 400"]


USER_CASES: dict[str, Callable[[Console, dict], list[str]]] = {
    "sock.tcp_echo_64m": case_tcp_echo_64m,
    "sock.tcp_echo_concurrent": case_tcp_echo_concurrent,
    "sock.tern_to_host": case_tern_to_host,
    "sock.udp_echo": case_udp_echo,
    "sock.http_status": case_http_status,
}
CASE_APPS = {"sock.http_status": ("httpd",), "sock.tern_to_host": ()}


def case_tcp_rst(console: Console, net: netns.TapNetwork) -> list[str]:
    result = run_ns_helper(net, "refused", net.guest, str(CLOSED_PORT), "10", timeout=120)
    outcomes = result["results"]
    bad = [r for r in outcomes if r["outcome"] != "ECONNREFUSED" or r["ms"] > 1000]
    if bad:
        raise Failure(f"connecting to closed port {CLOSED_PORT}: {bad} (want ECONNREFUSED within 1 s)")
    slowest = max(r["ms"] for r in outcomes)
    return [f"{len(outcomes)} connections to closed port {CLOSED_PORT}: ECONNREFUSED (RST), slowest {slowest} ms"]


def case_syn_flood(console: Console, net: netns.TapNetwork) -> list[str]:
    before = tcp_counters(console)
    result = run_ns_helper(net, "syn_flood", net.host, net.guest, "10000", str(MIB), timeout=400)
    after = tcp_counters(console)
    deltas = ", ".join(f"{name} +{after[name] - before.get(name, 0)}" for name in sorted(after)
                       if after[name] != before.get(name, 0))
    if result.get("echo") != "ok":
        raise Failure(f"the real connection during the flood failed: {result}")
    if result["syns"] != 10000:
        raise Failure(f"only {result['syns']} SYNs went out")
    if str(result.get("after", "")).startswith("failed"):
        raise Failure(f"a connection after the flood: {result['after']}")
    return [f"{result['syns']} SYNs in {result['flood_seconds']} s; a real connection opened after "
            f"{result['syns_before_connect']} of them: {result['note']} (the flood was at "
            f"{result['syns_when_echo_done']} when it ended); after the flood: {result['after']}; "
            f"tcp counters: {deltas}"]


def case_tcp_malformed(console: Console, net: netns.TapNetwork) -> list[str]:
    before = tcp_counters(console)
    for name in (COUNTER_BAD_CHECKSUM, COUNTER_BAD_OPTIONS):
        if name not in before:
            raise Failure(f"netstat -s: the tcp server has no counter {name!r}: {sorted(before)}")
    result = run_ns_helper(net, "malformed", net.host, net.guest, "500", "50", timeout=400)
    expected = result["expect"]
    deadline = time.monotonic() + 5
    while True:
        after = tcp_counters(console)
        problems = [f"{name}: {count} sent, counted {after.get(name, 0) - before[name]}"
                    for name, count in expected.items() if after.get(name, 0) - before[name] != count]
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    if problems:
        raise Failure("the tcp server's counters do not match what was sent:\n  " + "\n  ".join(problems))
    stats = run_ns_helper(net, "echo", net.guest, "65536", timeout=120)["note"]
    return [f"{expected[COUNTER_BAD_CHECKSUM]} segments with bad checksums and {expected[COUNTER_BAD_OPTIONS]} "
            f"with malformed options, {result['probes']} probe connections; netstat -s counted each exactly; "
            f"echo afterwards: {stats}"]


TAP_CASES: dict[str, Callable[[Console, netns.TapNetwork], list[str]]] = {
    "tap.tcp_rst": case_tcp_rst,
    "tap.syn_flood": case_syn_flood,
    "tap.tcp_malformed": case_tcp_malformed,
}
TAP_CASE_APPS = {"tap.tcp_rst": (), "tap.syn_flood": ("inetd",), "tap.tcp_malformed": ("inetd",)}


# --- running a case ---------------------------------------------------------------------

def poweroff(console: Console) -> None:
    since = console.mark()
    console.type("poweroff")
    console.wait(r"^poweroff: switching off$", 15, since=since)
    status = console.exited(15)
    if status != qemu_tool.EXIT_SUCCESS:
        raise Failure(f"QEMU exit status {status} after poweroff; expected {qemu_tool.EXIT_SUCCESS}")


def run_user_case(name: str, args: argparse.Namespace, log_path: Path) -> list[str]:
    ports = {"tcp_echo": free_port(socket.SOCK_STREAM), "udp_echo": free_port(socket.SOCK_DGRAM),
             "http": free_port(socket.SOCK_STREAM)}
    netdev = (f"user,id=net0,hostfwd=tcp:127.0.0.1:{ports['tcp_echo']}-:{ECHO_PORT},"
              f"hostfwd=udp:127.0.0.1:{ports['udp_echo']}-:{ECHO_PORT},"
              f"hostfwd=tcp:127.0.0.1:{ports['http']}-:{HTTP_PORT}")
    cmd = qemu_tool.build_command(args.iso, smp=args.smp, accel=qemu_tool.resolve_accel(args.accel),
                                  cmdline="test=processes", netdev=netdev, serial="stdio")
    print(f"scenario {name}: {shlex.join(cmd)}", flush=True)
    console = Console(cmd, log_path, args.log_dir / f"{name}.qemu-stderr.log")
    try:
        console.wait(r"ip: eth0: DHCP lease", 90)
        notes = ensure_services(console, CASE_APPS.get(name, ("inetd",)))
        notes += USER_CASES[name](console, ports)
        check_no_restarts(console, ("ip", "e1000", "tcp", "udp", "inetd", "httpd"))
        poweroff(console)
        return notes
    except Failure as failure:
        diagnose(console)
        raise Failure(f"{failure}\nserial log {log_path}; last lines:\n{console.tail(30)}") from None
    finally:
        console.close()


def diagnose(console: Console) -> None:
    """After a failure: the guest's view (processes, sockets, counters) into
    the serial log, if its shell still answers."""
    signal.setitimer(signal.ITIMER_REAL, 0)  # the case's own timeout may be what failed
    for command in ("ps", "netstat", "netstat -s", "netstat -i"):
        try:
            console.command(command, timeout=5)
        except Failure:
            return


def run_tap_case(name: str, args: argparse.Namespace, log_path: Path) -> list[str]:
    with netns.TapNetwork.create("tern-test") as net:
        cmd = qemu_tool.build_command(args.iso, smp=args.smp, accel=qemu_tool.resolve_accel(args.accel),
                                      cmdline=f"test=processes ip.ip={net.guest}/24",
                                      netdev=net.netdev_option(), serial="stdio")
        print(f"scenario {name}: namespace {net.namespace}: {shlex.join(cmd)}", flush=True)
        console = Console(net.command(cmd), log_path, args.log_dir / f"{name}.qemu-stderr.log")
        try:
            console.wait(rf"ip: eth0: {re.escape(net.guest)}/24 \(static\)", 90)
            warm_up(net)
            notes = ensure_services(console, TAP_CASE_APPS[name])
            notes += TAP_CASES[name](console, net)
            check_no_restarts(console, TAP_SERVICES + TAP_CASE_APPS[name])
            poweroff(console)
            return notes
        except Failure as failure:
            diagnose(console)
            raise Failure(f"{failure}\nserial log {log_path}; last lines:\n{console.tail(30)}") from None
        finally:
            console.close()


# --- selftest: the host pieces against Linux --------------------------------------------

class LinuxEcho:
    """TCP and UDP echo on 127.0.0.1 (threads); `drop_every` UDP datagrams
    one is dropped, to exercise resends."""

    def __init__(self, drop_every: int = 0):
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(128)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self.drop_every = drop_every
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._udp, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    def _udp(self) -> None:
        count = 0
        while True:
            try:
                data, peer = self.udp.recvfrom(65536)
            except OSError:
                return
            count += 1
            if self.drop_every and count % self.drop_every == 0:
                continue
            self.udp.sendto(data, peer)


def selftest() -> int:
    checks = []

    def check(what: str, fn: Callable[[], str]) -> None:
        start = time.monotonic()
        try:
            note = fn()
            checks.append(True)
            print(f"ok   {what}: {note} ({time.monotonic() - start:.1f} s)", flush=True)
        except Exception as err:  # noqa: BLE001 -- report everything
            checks.append(False)
            print(f"FAIL {what}: {type(err).__name__}: {err}", flush=True)

    def expect_failure(fn: Callable[[], object], text: str) -> str:
        try:
            fn()
        except Failure as err:
            if text not in str(err):
                raise AssertionError(f"failed, but with {err!r}")
            return f"refused as it must be: {err}"
        raise AssertionError("did not fail")

    echo = LinuxEcho()
    lossy = LinuxEcho(drop_every=500)
    def generator() -> str:
        # The same values tests/unit/sha256_test.cpp checks lib/base/xorshift.hpp against.
        assert xorshift_stream(1, 16).hex() == "1ddd6c894bcee4471d6579e0a8a6cfab"
        assert hashlib.sha256(xorshift_stream(0, 1000)).hexdigest() == \
            "6790374e3554c449a3975e6b9e76ab1ba22d8c6bf07aafd2450d658c2cb44305"
        assert hashlib.sha256(xorshift_stream(1, 3 * MIB + 17)).hexdigest() == \
            "345de4f44743e982166fcefdc6d599f997da6f923610e71b5f0a9732d50f21de"
        return "matches lib/base/xorshift.hpp"
    check("generator", generator)
    check("tcp echo stream", lambda: tcp_echo_stream("127.0.0.1", echo.tcp_port, 16 * MIB, 1, 60)["note"])
    check("tcp echo concurrent", lambda: tcp_echo_concurrent("127.0.0.1", echo.tcp_port, 64, MIB, 2, 60)["note"])
    check("udp echo", lambda: udp_echo("127.0.0.1", echo.udp_port, 10_000, 32, 1.0, 10, (1, 1472), 3, 60)["note"])
    check("udp echo 8 KiB", lambda: udp_echo("127.0.0.1", echo.udp_port, 20, 4, 2.0, 2, (8192, 8192), 4, 60)["note"])
    check("udp resends are counted", lambda: udp_echo("127.0.0.1", lossy.udp_port, 2000, 32, 0.2, 10, (1, 1472), 5,
                                                      60)["note"])
    check("udp resends are bounded", lambda: expect_failure(
        lambda: udp_echo("127.0.0.1", LinuxEcho(drop_every=50).udp_port, 2000, 32, 0.2, 10, (1, 1472), 5, 60),
        "had to be sent again"))

    def corrupting() -> str:
        bad = LinuxEcho()
        bad._echo = lambda conn: (conn.recv(10), conn.sendall(b"X" * 10), conn.close())  # type: ignore
        return expect_failure(lambda: tcp_echo_stream("127.0.0.1", bad.tcp_port, MIB, 1, 30), "")
    check("a wrong echo fails", corrupting)

    def hashing() -> str:
        server = HashingServer(10)
        data = xorshift_stream(1, 3 * MIB)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(data)
        server.done.wait(10)
        assert server.error is None and server.received == len(data), (server.error, server.received)
        assert server.hash.hexdigest() == hashlib.sha256(data).hexdigest()
        return f"{server.received} bytes hashed"
    check("hashing server", hashing)

    def segments() -> str:
        packet = tcp_packet("192.168.77.1", "192.168.77.2", 1234, 7, TCP_SYN, seq=5, options=MSS_OPTION)
        ip, segment = packet[:20], packet[20:]
        assert checksum(ip) == 0, "IP header checksum"
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(segment))
        assert checksum(pseudo + segment) == 0, "TCP checksum"
        bad = tcp_packet("192.168.77.1", "192.168.77.2", 1234, 7, TCP_SYN, bad_checksum=True)
        assert checksum(pseudo[:10] + struct.pack("!H", len(bad) - 20) + bad[20:]) != 0, "a bad checksum is bad"
        for options in MALFORMED_OPTIONS:
            assert len(options) % 4 == 0
        return "IP and TCP checksums verify; bad ones do not"
    check("raw segments", segments)

    def status_text() -> str:
        values, sockets = parse_status_text(
            "uptime_ms 5\nip.running 1\ntcp.bad_checksum 3\nservice.e1000.endpoint 0x20005\n"
            "socket tcp 10.0.2.15:80 0.0.0.0:0 LISTEN 0 0 httpd 0 0\n")
        assert values["tcp.bad_checksum"] == 3 and values["service.e1000.endpoint"] == 0x20005, values
        assert sockets[0][3] == "LISTEN"
        expect_failure(lambda: parse_status_text("tcp.bad_checksum three\n"), "not `KEY NUMBER`")
        return "parses, and refuses a non-number"
    check("status text", status_text)

    def refused() -> str:
        result = helper_refused("127.0.0.1", free_port(socket.SOCK_STREAM), 3)
        assert all(r["outcome"] == "ECONNREFUSED" for r in result["results"]), result
        return f"{result['results']}"
    check("refused helper", refused)

    print(f"{checks.count(True)} of {len(checks)} self-checks passed", flush=True)
    return 0 if all(checks) else 1


# --- main -------------------------------------------------------------------------------

def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="socket_scenario.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", choices=sorted(USER_CASES) + sorted(TAP_CASES) + ["selftest"])
    p.add_argument("--iso", type=Path, default=qemu_tool.DEFAULT_ISO)
    p.add_argument("--accel", choices=qemu_tool.ACCELS + ("auto",), default=qemu_tool.DEFAULT_ACCEL)
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--timeout", type=float, default=600.0, help="the whole case, seconds (default 600)")
    p.add_argument("--log-dir", type=Path, default=REPO_ROOT / "build" / "test-logs")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ns-helper"]:
        return ns_helper(argv[1:])
    args = make_parser().parse_args(argv)
    if args.case == "selftest":
        return selftest()
    name = args.case
    if name in TAP_CASES:
        reason = netns.unavailable()
        if reason:
            print(f"SKIPPED {name}: {reason}", flush=True)
            return SKIP
    if not args.iso.is_file():
        print(f"FAIL {name}: ISO not found: {args.iso}; run ./tern build", flush=True)
        return 2

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Failure(f"the case took over {args.timeout:g} s")))
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = args.log_dir / f"{name}.log"
    start = time.monotonic()
    try:
        if name in TAP_CASES:
            notes = run_tap_case(name, args, log_path)
        else:
            notes = run_user_case(name, args, log_path)
    except Failure as failure:
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(f"FAIL {name} after {time.monotonic() - start:.1f} s: {failure}", flush=True)
        return 1
    except (netns.NetnsError, OSError) as err:
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(f"FAIL {name}: {err}", flush=True)
        return 2
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"PASS {name} in {time.monotonic() - start:.1f} s: " + "; ".join(notes) + f"; log {log_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
