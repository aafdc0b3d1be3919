#!/usr/bin/env python3
"""One TCP bulk transfer against a discard or chargen server, timed at this end.

    python3 tools/tcp_stream.py send    ADDRESS PORT [--seconds S] [--close-timeout S]
    python3 tools/tcp_stream.py receive ADDRESS PORT [--seconds S]

`send` connects (to a discard server, RFC 863), sends as fast as the socket
takes data for S seconds, then shuts its side down and waits until the server
has closed the connection too. A discard server closes only after it has read
everything, so the bytes counted were all consumed by the server; the time
runs from the connect to that close.

`receive` connects (to a chargen server, RFC 864), reads for S seconds and
closes; the time runs from the connect to the last read.

`./tern bench stream` (tools/bench.py) runs it against Tern and a Linux guest,
inside the benchmark's network namespace or against QEMU's hostfwd ports, and
parses the one line it prints:

    tcp_stream: send bytes N seconds T mbps M end closed
    (end: closed | reset | timeout | error: ...; receive: always closed)

Exit status: 0 when bytes moved and (for send) the server closed cleanly,
1 otherwise (the line is printed either way), 2 on a usage error.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

CHUNK = 256 * 1024
CONNECT_TIMEOUT = 10.0


def connect(address: str, port: int) -> socket.socket:
    sock = socket.create_connection((address, port), timeout=CONNECT_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send(address: str, port: int, seconds: float, close_timeout: float) -> tuple[int, float, str]:
    data = memoryview(bytes(range(256)) * (CHUNK // 256))
    sent = 0
    end = "closed"
    with connect(address, port) as sock:
        start = time.monotonic()
        deadline = start + seconds
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    sent += sock.send(data)
                except socket.timeout:
                    break
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(close_timeout)
            while sock.recv(65536):
                pass  # a discard server sends nothing; ignore it if it does
        except socket.timeout:
            end = "timeout"
        except ConnectionResetError:
            end = "reset"
        except OSError as err:
            end = f"error: {err.strerror or err}"
        return sent, time.monotonic() - start, end


def receive(address: str, port: int, seconds: float) -> tuple[int, float, str]:
    buffer = bytearray(CHUNK)
    received = 0
    end = "closed"
    with connect(address, port) as sock:
        start = last = time.monotonic()
        deadline = start + seconds
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    n = sock.recv_into(buffer)
                except socket.timeout:
                    break
                if n == 0:
                    end = "ended early"
                    break
                received += n
                last = time.monotonic()
        except ConnectionResetError:
            end = "reset"
        except OSError as err:
            end = f"error: {err.strerror or err}"
        return received, last - start, end


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tools/tcp_stream.py",
                                description="Time one TCP bulk transfer to a discard server (send) or from a "
                                            "chargen server (receive).")
    p.add_argument("direction", choices=("send", "receive"))
    p.add_argument("address")
    p.add_argument("port", type=int)
    p.add_argument("--seconds", type=float, default=10.0, help="how long to send or receive (default 10)")
    p.add_argument("--close-timeout", type=float, default=60.0,
                   help="send: how long to wait for the server's close (default 60)")
    args = p.parse_args(argv)
    if args.seconds <= 0 or not 0 < args.port < 65536:
        p.error("--seconds must be positive and the port 1..65535")
    try:
        if args.direction == "send":
            moved, elapsed, end = send(args.address, args.port, args.seconds, args.close_timeout)
        else:
            moved, elapsed, end = receive(args.address, args.port, args.seconds)
    except OSError as err:
        print(f"tcp_stream: cannot connect to {args.address}:{args.port}: {err.strerror or err}")
        return 1
    mbps = moved * 8 / elapsed / 1e6 if elapsed > 0 else 0.0
    print(f"tcp_stream: {args.direction} bytes {moved} seconds {elapsed:.3f} mbps {mbps:.1f} end {end}", flush=True)
    return 0 if moved > 0 and end == "closed" else 1


if __name__ == "__main__":
    sys.exit(main())
