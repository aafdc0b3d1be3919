#!/usr/bin/env python3
"""Tern on a real Ethernet link: QEMU's e1000 on a tap device inside a network
namespace this script creates and deletes (tools/netns.py), driven from both
ends -- Tern's shell on the serial console, and ping, raw sockets and the ARP
cache on the namespace side.

Cases (one per CTest test; each boots its own QEMU):

  ping_flood    Tern pings the namespace first (Tern resolves it by ARP), then
                the namespace forgets Tern's MAC and `ping -c 200 -i 0.01`s
                Tern (the namespace resolves Tern): 0% loss, and each side's
                ARP cache holds the other's MAC. Then `ping -f -l 16 -c 5000`:
                every request answered once, no duplicates.
  malformed     malformed_frames.py sends >= 10,000 broken frames from a raw
                socket, each batch followed by a probe echo request that must be
                answered; afterwards `netstat -i` must count every broken frame
                under the reason it was made for, no server restarted, and
                ping still gets replies.
  driver_crash  ping every 10 ms from the namespace while the shell crashes the
                e1000 driver: rs restarts it, ip reattaches it, and the longest
                gap between two replies is under 1 s.
  udp_echo      UDP to a port nobody serves gets ICMP port unreachable (the
                udp server finds no socket, ip answers); inetd (started at
                boot) echoes 2000 datagrams of random sizes through the udp
                server, each equal to what was sent.

Tern boots with the static address 192.168.77.2/24 (kernel command line
`ip.ip=...`); the namespace side is 192.168.77.1. Needs root: otherwise the
case prints SKIPPED with the reason and exits 77, which CTest reports as
"Skipped" (SKIP_RETURN_CODE).

Exit status: 0 pass, 1 fail, 2 usage or environment error, 77 skipped.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(REPO_ROOT / "tools"))
import qemu as qemu_tool  # noqa: E402
import netns  # noqa: E402
from serial_console import SerialConsole  # noqa: E402

SKIP = 77
TERN_MAC = "52:54:00:12:34:56"  # QEMU's default for the first NIC
PROMPT = "tern> "
PROMPT_RETRY = 2.0  # seconds before type() asks for another prompt


class Failure(Exception):
    """The scenario's outcome is wrong; the message says what was seen."""


class Console(SerialConsole):
    """Tern's serial console, with its shell: waits that fail the case, and
    commands typed at the prompt."""

    def find(self, regex: str, timeout: float, since: int = 0, partial: bool = False) -> tuple[int, re.Match]:
        """The first line from `since` on matching `regex` and its index (with
        `partial`, the line still being printed counts too). Raises Failure."""
        seen = self.wait_for(re.compile(regex), timeout, since, partial)
        if seen.match is None:
            if self.eof:
                raise Failure(f"QEMU ended (status {self.proc.poll()}) before /{regex}/ was seen")
            raise Failure(f"/{regex}/ not seen within {timeout:g} s")
        return seen.index, seen.match

    def wait(self, regex: str, timeout: float, since: int = 0, partial: bool = False) -> re.Match:
        return self.find(regex, timeout, since, partial)[1]

    def type(self, text: str, timeout: float = 20.0) -> int:
        """Gets a fresh prompt (SerialConsole.fresh_prompt), types `text` and a
        carriage return; returns the mark before it."""
        if not self.fresh_prompt(re.compile(re.escape(PROMPT.strip()) + r" ?$"), timeout, PROMPT_RETRY):
            if self.eof:
                raise Failure(f"QEMU ended (status {self.proc.poll()}) before a prompt was seen")
            raise Failure(f"no fresh prompt within {timeout:g} s")
        since = self.mark()
        self.send(text)
        return since

    def command(self, text: str, timeout: float = 20.0) -> list[str]:
        """Types `text` at the prompt and returns the lines it printed (up to the next prompt)."""
        since = self.type(text, timeout)
        echo, _ = self.find(re.escape(text) + "$", timeout, since=since)
        end, _ = self.find("^" + re.escape(PROMPT.strip()), timeout, since=echo + 1, partial=True)
        with self._cond:
            return self.lines[echo + 1:end]


def parse_ping(output: str) -> tuple[int, int]:
    """(transmitted, received) from iputils ping's summary."""
    match = re.search(r"(\d+) packets transmitted, (\d+) received", output)
    if not match:
        raise Failure(f"no ping summary in:\n{output}")
    return int(match.group(1)), int(match.group(2))


def ns_ping(net: netns.TapNetwork, *args: str, timeout: float = 60.0) -> tuple[int, int, str]:
    try:
        result = subprocess.run(net.command(["ping", *args, net.guest]), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        raise Failure(f"`ping {' '.join(args)}` did not finish within {timeout:g} s: "
                      f"{(expired.stdout or '')[-300:]}") from None
    sent, received = parse_ping(result.stdout)
    return sent, received, result.stdout


def warm_up(net: netns.TapNetwork, timeout: float = 15.0) -> None:
    """Pings until Tern answers once (its NIC holds reception for ~1 s after the
    driver enables it, and ARP must settle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, received, _ = ns_ping(net, "-c", "1", "-W", "1")
        if received == 1:
            return
    raise Failure(f"Tern did not answer a ping from the namespace within {timeout:g} s")


def netstat(console: Console) -> tuple[dict[str, int], list[str]]:
    """Tern's `netstat -i` for eth0: {"rx_packets": n, ..., reason: count}."""
    out = console.command("netstat -i")
    counts: dict[str, int] = {}
    for line in out:
        match = re.match(r"eth0: received (\d+) packets \((\d+) bytes\), sent (\d+) packets \((\d+) bytes\), "
                         r"(\d+) errors", line)
        if match:
            counts.update(rx_packets=int(match.group(1)), tx_packets=int(match.group(3)),
                          errors=int(match.group(5)))
            continue
        match = re.match(r"\s+dropped (\d+): (\w+)", line)
        if match:
            counts[match.group(2)] = int(match.group(1))
    if "rx_packets" not in counts:
        raise Failure("netstat -i printed no eth0 line:\n" + "\n".join(out))
    return counts, out


def restarts(console: Console) -> dict[str, int]:
    """Restart counts per service from `ps` (name -> restarts)."""
    result = {}
    for line in console.command("ps"):
        fields = line.split()
        # SLOT ENDPOINT NAME CORE STATE RESTARTS CPU(ms) SYSCALLS
        if len(fields) >= 6 and fields[0].isdigit() and fields[5].isdigit():
            result[fields[2]] = int(fields[5])
    return result


def check_no_restarts(console: Console) -> None:
    counts = restarts(console)
    for name in ("e1000", "ip"):
        if name not in counts:
            raise Failure(f"`ps` does not list {name}: {counts}")
        if counts[name] != 0:
            raise Failure(f"{name} was restarted {counts[name]} time(s)")
    for line in console.all_lines():
        if re.search(r"rs: '(e1000|ip)' (crashed|hung|ended)|FAILED|EXCEPTION|PANIC", line):
            raise Failure(f"serial console: {line}")


# --- Cases ----------------------------------------------------------------------------


def case_ping_flood(console: Console, net: netns.TapNetwork) -> list[str]:
    notes = []
    # Tern resolves the namespace: its ARP cache is empty, so this needs a request and a reply.
    out = console.command(f"ping -c 3 -i 10 -W 2000 {net.host}")
    if not any(re.search(r"3 sent, 3 received", line) for line in out):
        raise Failure("Tern's ping of the namespace failed:\n" + "\n".join(out))
    arp = console.command("arp")
    if not any(re.match(rf"{re.escape(net.host)}\s+{net.host_mac}\s+eth0\s+confirmed", line) for line in arp):
        raise Failure(f"Tern's ARP cache has no confirmed {net.host} -> {net.host_mac}:\n" + "\n".join(arp))
    notes.append(f"Tern resolved {net.host} -> {net.host_mac}")

    # The namespace resolves Tern: forget what Tern's request taught it first.
    net.run(["ip", "neigh", "flush", "dev", net.tap], "flushing the namespace's ARP cache")
    if net.neighbour(net.guest) is not None:
        raise Failure("the namespace still knows Tern's MAC after a flush")
    sent, received, output = ns_ping(net, "-c", "200", "-i", "0.01", "-W", "1")
    if sent != 200 or received != 200:
        raise Failure(f"ping -c 200 -i 0.01: {sent} sent, {received} received:\n{output}")
    mac = net.neighbour(net.guest)
    if mac != TERN_MAC:
        raise Failure(f"the namespace's ARP entry for {net.guest} is {mac}, expected {TERN_MAC}")
    rtt = re.search(r"rtt min/avg/max/mdev = (\S+)", output)
    notes.append(f"namespace resolved {net.guest} -> {mac}; ping -c 200 -i 0.01: 200/200, "
                 f"rtt min/avg/max/mdev {rtt.group(1) if rtt else '?'} ms")

    # A flood with 16 in flight: every request answered exactly once (batches
    # of frames through ip and the driver; this once lost and duplicated frames).
    sent, received, output = ns_ping(net, "-f", "-l", "16", "-c", "5000", "-W", "2", "-q")
    if sent != 5000 or received != 5000 or "duplicates" in output:
        raise Failure(f"ping -f -l 16 -c 5000: {sent} sent, {received} received:\n{output}")
    rate = re.search(r"time (\d+)ms", output)
    notes.append(f"ping -f -l 16 -c 5000: 5000/5000, no duplicates"
                 + (f", {5000 * 1000 // max(1, int(rate.group(1)))} replies/s" if rate else ""))
    check_no_restarts(console)
    return notes


def case_malformed(console: Console, net: netns.TapNetwork, frames: int) -> list[str]:
    before, _ = netstat(console)
    injector = HERE / "malformed_frames.py"
    result = subprocess.run(
        net.command([sys.executable, str(injector), "--interface", net.tap, "--count", str(frames),
                     "--source-mac", net.host_mac, "--source-ip", net.host,
                     "--target-mac", TERN_MAC, "--target-ip", net.guest]),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        raise Failure(f"malformed_frames.py exited {result.returncode}")
    expected = {m.group(1): int(m.group(2)) for m in re.finditer(r"^expect (\w+) (\d+)$", result.stdout, re.M)}
    summary = re.search(r"^sent (\d+) malformed frames, (\d+) probes answered of (\d+)$", result.stdout, re.M)
    if not summary or int(summary.group(1)) < 10_000:
        raise Failure("the injector sent fewer than 10,000 malformed frames")
    total = int(summary.group(1))
    if summary.group(2) != summary.group(3):
        raise Failure(f"probe echo requests: only {summary.group(2)} of {summary.group(3)} answered")

    # The device's own counters (nic_*) reach ip about once a second: ask
    # again until they are in, for a few seconds at most.
    deadline = time.monotonic() + 5
    while True:
        after, table = netstat(console)
        problems = []
        for reason, count in sorted(expected.items()):
            got = after.get(reason, 0) - before.get(reason, 0)
            if got < count:
                problems.append(f"{reason}: {count} sent, netstat -i counted {got}")
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    print("\n".join(table), flush=True)
    if problems:
        raise Failure("drops not counted by reason:\n  " + "\n  ".join(problems))
    check_no_restarts(console)
    sent, received, output = ns_ping(net, "-c", "20", "-i", "0.01", "-W", "1")
    if received != 20:
        raise Failure(f"ping after the malformed frames: {received} of {sent} answered:\n{output}")
    return [f"{total} malformed frames in {len(expected)} kinds, all counted by reason; "
            f"{summary.group(2)} probes answered; no restart; ping 20/20 afterwards"]


def case_driver_crash(console: Console, net: netns.TapNetwork) -> list[str]:
    ping = subprocess.Popen(net.command(["ping", "-D", "-O", "-i", "0.01", "-W", "1", net.guest]),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        replies: list[tuple[float, int]] = []
        missed: list[int] = []
        lines: list[str] = []

        def read_ping() -> None:
            for line in ping.stdout:
                lines.append(line.rstrip())
                match = re.match(r"\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)", line)
                if match:
                    replies.append((float(match.group(1)), int(match.group(2))))
                match = re.match(r"\[\d+\.\d+\] no answer yet for icmp_seq=(\d+)", line)
                if match:
                    missed.append(int(match.group(1)))

        reader = threading.Thread(target=read_ping, daemon=True)
        reader.start()
        wait_until(lambda: len(replies) >= 50, 20, "50 replies before the crash")
        before_crash = len(replies)
        since = console.mark()
        console.command("crash e1000")
        console.wait(r"rs: restarted 'e1000'", 10, since=since)
        console.wait(r"ip: eth0: driver 0x[0-9a-f]+, MAC .* link up", 10, since=since)
        wait_until(lambda: len(replies) >= before_crash + 100, 30, "100 replies after the crash")
    finally:
        ping.send_signal(signal.SIGINT)
        try:
            ping.wait(timeout=5)
        except subprocess.TimeoutExpired:
            ping.kill()
    reader.join(timeout=5)
    gaps = [(b[0] - a[0], a[1], b[1]) for a, b in zip(replies, replies[1:])]
    longest = max(gaps)
    if longest[2] - longest[1] < 2:
        raise Failure("no reply went missing: the crash did not interrupt the traffic, so recovery "
                      "was not tested\n" + "\n".join(lines[-20:]))
    if longest[0] >= 1.0:
        raise Failure(f"replies stopped for {longest[0] * 1000:.0f} ms (icmp_seq {longest[1]} to "
                      f"{longest[2]}); required under 1 s")
    counts = restarts(console)
    if counts.get("e1000") != 1 or counts.get("ip") != 0:
        raise Failure(f"restart counts after one driver crash: {counts}")
    return [f"replies resumed {longest[0] * 1000:.0f} ms after the last one before the crash "
            f"(icmp_seq {longest[1]} -> {longest[2]}, {longest[2] - longest[1] - 1} lost); "
            f"{len(replies)} replies in all"]


def case_udp_echo(console: Console, net: netns.TapNetwork, datagrams: int) -> list[str]:
    """Nobody on port 4444: ICMP port unreachable (Linux reports ECONNREFUSED
    on the connected socket). inetd's echo on port 7, through the udp
    server: every datagram comes back equal."""
    program = r"""
import errno, os, random, socket, sys
guest, count, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
s.connect((guest, port))
if count == 0:
    s.send(b"anyone?")
    try:
        s.recv(2048)
        print("answered")
    except OSError as e:
        print("error", errno.errorcode.get(e.errno, e.errno))
    sys.exit(0)
rng = random.Random(7)
good = 0
for i in range(count):
    data = rng.randbytes(rng.randrange(1, 1473))
    s.send(data)
    try:
        reply = s.recv(2048)
    except socket.timeout:
        print("lost", i, len(data)); continue
    if reply == data:
        good += 1
    else:
        print("different", i, len(data), len(reply))
print("echoed", good, "of", count)
"""
    result = net.run([sys.executable, "-c", program, net.guest, "0", "4444"], "UDP to a closed port")
    if result.strip() != "error ECONNREFUSED":
        raise Failure(f"UDP to a closed port: expected ICMP port unreachable (ECONNREFUSED), got {result.strip()!r}")
    console.wait(r"inetd: echo", 30)
    result = net.run([sys.executable, "-c", program, net.guest, str(datagrams), "7"], "UDP echo")
    if f"echoed {datagrams} of {datagrams}" not in result:
        raise Failure(f"UDP echo: {result.strip()[-500:]}")
    check_no_restarts(console)
    return ["UDP to a closed port: ICMP port unreachable (ECONNREFUSED)",
            f"inetd's echo: {datagrams} of {datagrams} datagrams of 1..1472 bytes echoed equal"]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


CASES = ("ping_flood", "malformed", "driver_crash", "udp_echo")


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tap_scenario.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", choices=CASES)
    p.add_argument("--iso", type=Path, default=qemu_tool.DEFAULT_ISO)
    p.add_argument("--accel", choices=qemu_tool.ACCELS + ("auto",), default=qemu_tool.DEFAULT_ACCEL)
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--timeout", type=float, default=240.0, help="the whole case, seconds (default 240)")
    p.add_argument("--frames", type=int, default=12_000, help="malformed: how many broken frames (default 12000)")
    p.add_argument("--log-dir", type=Path, default=REPO_ROOT / "build" / "test-logs")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = make_parser().parse_args(argv)
    name = f"tap.{args.case}"
    reason = netns.unavailable()
    if reason:
        print(f"SKIPPED {name}: {reason}", flush=True)
        return SKIP
    if shutil.which("ping") is None:
        print(f"FAIL {name}: iputils ping is missing; run ./tern setup", flush=True)
        return 2
    if not args.iso.is_file():
        print(f"FAIL {name}: ISO not found: {args.iso}; run ./tern build", flush=True)
        return 2

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # The whole case has a deadline: SIGALRM ends it (and the finally blocks clean up).
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Failure(f"the case took over {args.timeout:g} s")))
    signal.setitimer(signal.ITIMER_REAL, args.timeout)

    args.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = args.log_dir / f"{name}.log"
    console = None
    start = time.monotonic()
    try:
        with netns.TapNetwork.create("tern-test") as net:
            cmd = qemu_tool.build_command(args.iso, smp=args.smp, accel=qemu_tool.resolve_accel(args.accel),
                                          cmdline=f"test=processes ip.ip={net.guest}/24",
                                          netdev=net.netdev_option(), serial="stdio")
            print(f"scenario {name}: namespace {net.namespace}: {shlex.join(cmd)}", flush=True)
            console = Console(net.command(cmd), log_path, args.log_dir / f"{name}.qemu-stderr.log")
            proc = console.proc
            try:
                console.wait(rf"ip: eth0: {re.escape(net.guest)}/24 \(static\)", 60)
                warm_up(net)
                if args.case == "ping_flood":
                    notes = case_ping_flood(console, net)
                elif args.case == "malformed":
                    notes = case_malformed(console, net, args.frames)
                elif args.case == "driver_crash":
                    notes = case_driver_crash(console, net)
                else:
                    notes = case_udp_echo(console, net, 2000)
                since = console.mark()
                console.type("poweroff")
                console.wait(r"^poweroff: switching off$", 15, since=since)
                status = proc.wait(timeout=15)
                if status != qemu_tool.EXIT_SUCCESS:
                    raise Failure(f"QEMU exit status {status} after poweroff; expected {qemu_tool.EXIT_SUCCESS}")
            finally:
                console.close()
    except Failure as failure:
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(f"FAIL {name} after {time.monotonic() - start:.1f} s: {failure}")
        if console is not None:
            tail = console.all_lines()[-30:]
            print(f"serial log: {log_path}; last {len(tail)} lines:")
            for line in tail:
                print(f"  | {line}")
        return 1
    except netns.NetnsError as err:
        print(f"FAIL {name}: {err}")
        return 2
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"PASS {name} in {time.monotonic() - start:.1f} s: " + "; ".join(notes) + f"; log {log_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
