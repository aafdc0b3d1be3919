#!/usr/bin/env python3
"""Self-tests of the integration harness: they prove it can fail.

Each case runs boot_scenario.py against fake_qemu.py (no kernel, no QEMU) and
checks the harness's verdict, or checks tools/qemu.py's command line.

Usage: harness_selftest.py CASE [--work-dir DIR]     (CASE `all` runs every case)
Exit status 0 when the case holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
HARNESS = HERE / "boot_scenario.py"
FAKE_QEMU = HERE / "fake_qemu.py"
QEMU_PY = REPO_ROOT / "tools" / "qemu.py"
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, str(REPO_ROOT / "tools"))
import qemu as qemu_tool  # noqa: E402

TERN_EXPECTS = ["cpu 0 online", "cpu 1 online", "all 2 cores online", r"memory: \d+ MiB usable",
                "8086:100e", "selftest: passed"]


class CaseFailed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CaseFailed(message)


class Runner:
    def __init__(self, work: Path):
        self.work = work
        self.iso = work / "fake.iso"
        self.iso.write_bytes(b"not really an ISO\n")
        self.logs = work / "logs"

    def harness(self, name: str, mode: str, *extra: str, expects=TERN_EXPECTS,
                rejects=("EXCEPTION|FAILED",), pid_file: Path | None = None, timeout: float = 20):
        fake = [sys.executable, str(FAKE_QEMU), "--fake-mode", mode]
        if pid_file:
            fake += ["--fake-pid-file", str(pid_file)]
        cmd = [sys.executable, str(HARNESS), "--name", name, "--iso", str(self.iso), "--smp", "2",
               "--cmdline", "test=selftest", "--log-dir", str(self.logs),
               "--qemu-binary", shlex.join(fake), "--timeout", str(timeout),
               "--timing-marker", "all 2 cores online"]
        for e in expects:
            cmd += ["--expect", e]
        for r in rejects:
            cmd += ["--reject", r]
        cmd += list(extra)
        start = time.monotonic()
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout + 30)
        took = time.monotonic() - start
        print(f"--- harness ({mode}) exit {proc.returncode} after {took:.2f} s; its output:")
        print("\n".join("    " + line for line in proc.stdout.splitlines()))
        return proc.returncode, proc.stdout, took


def case_accepts_exit_33(r: Runner) -> None:
    """Positive control: a boot that does everything right passes."""
    rc, out, _ = r.harness("accepts_exit_33", "pass")
    check(rc == 0, f"harness should pass, exit {rc}")
    check("PASS accepts_exit_33" in out, "no PASS line")
    check("time from QEMU start to 'all 2 cores online':" in out, "no timing line")
    log = r.logs / "accepts_exit_33.log"
    check(log.is_file() and b"selftest: passed" in log.read_bytes(), f"serial log {log} missing or incomplete")
    check(b"partial last line" in log.read_bytes(), "log lost the final partial line")
    check("kernel command line 'test=selftest'" in log.read_text(), "cmdline did not reach the fake QEMU")


def case_rejects_zero_exit(r: Runner) -> None:
    """All lines present but QEMU exits 0 (triple fault): must fail."""
    rc, out, _ = r.harness("rejects_zero_exit", "triple-fault")
    check(rc == 1, f"harness should fail with 1, exit {rc}")
    check("FAIL rejects_zero_exit" in out and "exit status 0" in out, "failure does not name exit status 0")
    check("serial log:" in out and "rejects_zero_exit.log" in out, "failure does not give the log path")
    check("| [" in out, "failure does not show the log tail")


def case_rejects_other_exit(r: Runner) -> None:
    """Self-test failure (exit 35) must fail, and the FAILED line is reported."""
    rc, out, _ = r.harness("rejects_other_exit", "selftest-failed")
    check(rc == 1, f"harness should fail, exit {rc}")
    check("exit status 35" in out and "self-test failed" in out, "exit 35 not explained")
    check("rejected pattern /EXCEPTION|FAILED/" in out, "FAILED line not reported")


def case_times_out(r: Runner) -> None:
    """QEMU never exits: the harness kills it at the timeout and fails promptly."""
    pid_file = r.work / "hang.pid"
    rc, out, took = r.harness("times_out", "hang", pid_file=pid_file, timeout=3)
    check(rc == 1, f"harness should fail, exit {rc}")
    check("timed out after 3 s" in out, "failure does not say it timed out")
    check(took < 3 + 8, f"harness took {took:.1f} s for a 3 s timeout")
    pid = int(pid_file.read_text())
    check(not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
          or " Z " in Path(f"/proc/{pid}/stat").read_text(),
          f"fake QEMU {pid} still running after the harness returned")


def case_rejects_pattern(r: Runner) -> None:
    """An EXCEPTION line fails the scenario even with exit 33."""
    rc, out, _ = r.harness("rejects_pattern", "exception")
    check(rc == 1, f"harness should fail, exit {rc}")
    check("rejected pattern /EXCEPTION|FAILED/" in out and "EXCEPTION #PF" in out, "rejected line not reported")


def case_reject_ends_hang_early(r: Runner) -> None:
    """A rejected line followed by a hang is failed after the grace time, not the timeout."""
    rc, out, took = r.harness("reject_ends_hang_early", "exception-hang", "--reject-grace", "1", timeout=60)
    check(rc == 1, f"harness should fail, exit {rc}")
    check(took < 15, f"harness waited {took:.1f} s; it should stop about 1 s after the rejected line")
    check("killed 1 s after a rejected line" in out, "does not say why QEMU was killed")


def case_reports_missing_line(r: Runner) -> None:
    """Exit 33 but a line is missing: fail and name the missing pattern."""
    rc, out, _ = r.harness("reports_missing_line", "missing-line")
    check(rc == 1, f"harness should fail, exit {rc}")
    check("expected pattern never seen: /all 2 cores online/" in out, "missing pattern not named")
    check("expected pattern never seen: /selftest" not in out, "a seen pattern was reported missing")


def case_fault_scenario(r: Runner) -> None:
    """The fault scenario's own expectations: exit 37 passes, exit 33 must fail."""
    fault = dict(expects=["EXCEPTION #PF", "cr2=0x", "rip=0x", "error=0x"], rejects=["selftest: passed"])
    rc, out, _ = r.harness("fault_scenario_ok", "pagefault", "--expect-exit", "37", **fault)
    check(rc == 0 and "PASS fault_scenario_ok" in out, f"a correct fault report failed (exit {rc})")
    rc, out, _ = r.harness("fault_scenario_33", "exception", "--expect-exit", "37", **fault)
    check(rc == 1 and "expected 37" in out, f"exit 33 accepted where 37 was required (exit {rc})")


SHELL_STEPS = ["--send-after", "tern> ", "ps", "--send-after", "tern> ", "cores",
               "--send-after", "tern> ", "crash hello", "--send-after", "tern> ", "poweroff"]
SHELL_EXPECTS = ["0x[0-9a-f]+ +rs ", "0x[0-9a-f]+ +sh ", "core 1: online.*% since boot",
                 "crash: no service 'hello'", "poweroff: switching off"]


def case_conversation(r: Runner) -> None:
    """--send-after drives the serial shell: each text goes after its prompt, in order."""
    rc, out, _ = r.harness("conversation", "shell", *SHELL_STEPS, expects=SHELL_EXPECTS,
                           rejects=("unknown command",))
    check(rc == 0 and "PASS conversation" in out, f"a correct conversation failed (exit {rc})")
    check("4/4 conversation steps sent" in out, "PASS line does not count the steps")
    check(out.find("sent 'ps'") < out.find("sent 'cores'") < out.find("sent 'crash hello'")
          < out.find("sent 'poweroff'"), "steps not reported in order")
    log = (r.logs / "conversation.log").read_bytes()
    check(b"tern> ps\r\nSLOT" in log and b"tern> crash hello\r\ncrash:" in log,
          "the log does not show the echoed commands and their answers")


def case_conversation_waits_for_each_step(r: Runner) -> None:
    """Step 2 waits for a prompt that comes after step 1's text, not the one step 1 answered.
    The fake's `slow` command exits 1 if input arrives before its next prompt."""
    steps = ["--send-after", "tern> ", "slow", "--send-after", "tern> ", "slow",
             "--send-after", "tern> ", "poweroff"]
    rc, out, _ = r.harness("conversation_waits", "shell", *steps, expects=["done"], rejects=("busy",))
    check(rc == 0 and "PASS conversation_waits" in out, f"the harness sent a step too early (exit {rc})")
    # The same patterns may also come from a line in the middle of the output, and
    # CR LF or a bare LF from the harness's own echo must not count as a prompt.
    steps = ["--send-after", "Tern shell", "slow", "--send-after", "^done$", "uptime",
             "--send-after", "^up [0-9]+[.][0-9]{3} s$", "poweroff"]
    rc, out, _ = r.harness("conversation_lines", "shell", *steps, expects=["done"], rejects=("busy",))
    check(rc == 0, f"whole-line markers did not work (exit {rc})")


def case_conversation_step_missing(r: Runner) -> None:
    """A step whose pattern never comes: fail at the timeout, naming the step and what was sent."""
    pid_file = r.work / "shell.pid"
    steps = ["--send-after", "tern> ", "ps", "--send-after", "no such prompt", "poweroff"]
    rc, out, took = r.harness("conversation_step_missing", "shell", *steps, expects=[], pid_file=pid_file,
                              timeout=3)
    check(rc == 1, f"harness should fail, exit {rc}")
    check("timed out after 3 s" in out, "failure does not say it timed out")
    check("conversation stopped at step 2 of 2: /no such prompt/ never seen after sending 'ps'" in out,
          "failure does not name the step that was not reached")
    check("'ps' at" in out, "failure does not list the steps that were sent")
    check(took < 3 + 8, f"harness took {took:.1f} s for a 3 s timeout")
    pid = int(pid_file.read_text())
    check(not Path(f"/proc/{pid}").exists() or " Z " in Path(f"/proc/{pid}/stat").read_text(),
          f"fake QEMU {pid} still running after the harness returned")


def case_tap_console_prompt_overwritten(r: Runner) -> None:
    """tap_scenario's Console: a driver message printed right after the fresh
    prompt ("tern> e1000: polling ...") must not make the next command wait
    for a prompt that already came (a 20 s timeout in CI once)."""
    sys.path.insert(0, str(HERE))
    import tap_scenario  # noqa: E402  (imported here: only this case needs it)
    argv = [sys.executable, str(FAKE_QEMU), "--fake-mode", "shell", "-smp", "2", "-boot", "d",
            "-cdrom", str(r.iso), "-display", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-serial", "stdio"]
    r.logs.mkdir(parents=True, exist_ok=True)
    console = tap_scenario.Console(argv, r.logs / "tap_console.log")
    try:
        console.wait(r"tern> ?$", 10, partial=True)
        check(console.command("noisy") == ["armed"], "the fake shell did not arm its message")
        start = time.monotonic()
        lines = console.command("ps", timeout=10)
        took = time.monotonic() - start
        check(any(" rs " in line for line in lines), f"`ps` output not returned: {lines}")
        check(took < tap_scenario.PROMPT_RETRY + 3, f"`ps` took {took:.1f} s")
    finally:
        console.close()


def case_conversation_qemu_exits_early(r: Runner) -> None:
    """QEMU exits before the conversation is over: the exit status alone must not pass."""
    steps = ["--send-after", "tern> ", "poweroff", "--send-after", "tern> ", "ps"]
    rc, out, _ = r.harness("conversation_exit", "shell", *steps, expects=[])
    check(rc == 1, f"harness should fail, exit {rc}")
    check("conversation stopped at step 2 of 2" in out, "unsent step not reported")


def case_expect_count(r: Runner) -> None:
    """--expect-count: N matching lines pass, fewer fail with the count."""
    rc, out, _ = r.harness("expect_count_ok", "shell", *SHELL_STEPS, "--expect-count", "core [0-9]+: online", "2",
                           expects=[])
    check(rc == 0 and "PASS expect_count_ok" in out, f"2 of 2 counted lines failed (exit {rc})")
    rc, out, _ = r.harness("expect_count_short", "shell", *SHELL_STEPS, "--expect-count", "core [0-9]+: online",
                           "3", expects=[])
    check(rc == 1 and "/core [0-9]+: online/ seen on 2 line(s), wanted at least 3" in out,
          f"a short count was not reported (exit {rc})")
    rc, out, _ = r.harness("expect_count_bad", "shell", "--expect-count", "x", "0", expects=[])
    check(rc == 2 and "at least 1" in out, f"--expect-count 0 not refused (exit {rc})")


def case_no_serial_input_without_conversation(r: Runner) -> None:
    """Without --send-after QEMU's stdin stays /dev/null: the shell fake refuses to start."""
    rc, out, _ = r.harness("no_serial_input", "shell", expects=[], timeout=10)
    check(rc == 1 and "stdin is not a pipe" in out, f"serial input was a pipe without a conversation (exit {rc})")


def case_refuses_expect_exit_zero(r: Runner) -> None:
    rc, out, _ = r.harness("refuses_expect_exit_zero", "pass", "--expect-exit", "0")
    check(rc == 2 and "refused" in out, f"--expect-exit 0 not refused (exit {rc})")


def case_missing_iso(r: Runner) -> None:
    proc = subprocess.run([sys.executable, str(HARNESS), "--name", "missing_iso", "--iso",
                           str(r.work / "nonexistent.iso"), "--log-dir", str(r.logs)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=30)
    print(proc.stdout)
    check(proc.returncode == 2 and "./tern build" in proc.stdout, "missing ISO not reported clearly")


def case_qemu_command(r: Runner) -> None:
    """tools/qemu.py builds the command the SPEC describes."""
    cmd = qemu_tool.build_command("x.iso", serial="stdio")
    base = ("qemu-system-x86_64 -machine pc -accel tcg -smp 2 -m 512 -boot d -cdrom x.iso -display none -name tern,debug-threads=on "
            "-no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -netdev user,id=net0 "
            "-device e1000,netdev=net0,romfile= -serial stdio")
    check(" ".join(cmd) == base, f"default command differs:\n  {' '.join(cmd)}\n  {base}")
    cmd = qemu_tool.build_command("x.iso", machine="q35", smp=4, accel="kvm", uefi=True, gdb_port=1234,
                                  cmdline="test=selftest a,b", extra_args=["-S"])
    text = " ".join(cmd)
    check("-cpu host,-arch-capabilities" in text, "kvm cpu model missing")
    check("-bios /usr/share/ovmf/OVMF.fd" in text, "OVMF missing")
    check("-gdb tcp::1234 -S" in text, "gdb stub missing")
    check(["-smbios", "type=1,product=tern:test=selftest a,,b"] == cmd[cmd.index("-smbios"):cmd.index("-smbios") + 2],
          "smbios cmdline not escaped")
    check("-serial mon:stdio" in text and cmd[-1] == "-S", "serial default or extra args wrong")
    check("-cpu" not in qemu_tool.build_command("x.iso", accel="tcg"), "tcg must keep QEMU's default cpu")
    for bad in (dict(machine="isapc"), dict(smp=0), dict(accel="hvf")):
        try:
            qemu_tool.build_command("x.iso", **bad)
        except ValueError:
            continue
        raise CaseFailed(f"build_command accepted {bad}")
    # The CLI: dry run, clear errors.
    dry = subprocess.run([sys.executable, str(QEMU_PY), "--iso", str(r.iso), "--dry-run", "--smp", "2",
                          "--cmdline", "a,b", "--", "-foo", "bar"], capture_output=True, text=True)
    check(dry.returncode == 0 and "product=tern:a,,b" in dry.stdout and dry.stdout.strip().endswith("-foo bar"),
          f"dry run wrong: {dry.stdout} {dry.stderr}")
    missing = subprocess.run([sys.executable, str(QEMU_PY), "--iso", str(r.work / "none.iso")],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True)
    check(missing.returncode != 0 and "./tern build" in missing.stderr, f"missing ISO: {missing.stderr}")
    env = dict(os.environ, PATH=str(r.work))
    noqemu = subprocess.run([sys.executable, str(QEMU_PY), "--iso", str(r.iso)], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, env=env)
    check(noqemu.returncode != 0 and "./tern setup" in noqemu.stderr, f"missing QEMU: {noqemu.stderr}")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=sorted(CASES) + ["all"])
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="keep files here (default: a temporary directory)")
    args = parser.parse_args()
    names = sorted(CASES) if args.case == "all" else [args.case]
    failed = []
    with tempfile.TemporaryDirectory(prefix="tern-harness-") as tmp:
        for name in names:
            work = (args.work_dir or Path(tmp)) / name
            work.mkdir(parents=True, exist_ok=True)
            try:
                CASES[name](Runner(work))
                print(f"ok: harness.{name}")
            except CaseFailed as err:
                print(f"NOT OK: harness.{name}: {err}")
                failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
