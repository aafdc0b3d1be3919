#!/usr/bin/env python3
"""tools/guest_profile.py on made-up data: the ring's log line and dump,
symbols from nm's output, and the summary's shares. No QEMU needed."""

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import guest_profile as gp  # noqa: E402


def ring(samples: dict[int, tuple[int, int, int, int]]) -> bytes:
    """A dump with `samples` (index -> sequence, slot, core, rip); the rest never written."""
    data = bytearray(gp.CAPACITY * gp.SAMPLE.size)
    for index, fields in samples.items():
        gp.SAMPLE.pack_into(data, index * gp.SAMPLE.size, *fields)
    return bytes(data)


class RingTest(unittest.TestCase):
    def test_the_address_comes_from_the_kernel_log(self):
        log = "[ 0.08] profile: sampling every timer tick into 65536 samples of 16 bytes at physical 0x244800\n"
        self.assertEqual(gp.ring_address("boot\n" + log), 0x244800)

    def test_a_kernel_without_profiling_or_another_layout_is_refused(self):
        with self.assertRaises(gp.ProfileError):
            gp.ring_address("tern: ready\n")
        with self.assertRaises(gp.ProfileError):
            gp.ring_address("profile: sampling every timer tick into 1024 samples of 16 bytes at physical 0x1000")

    def test_samples_come_oldest_first_and_unwritten_slots_are_skipped(self):
        # The ring wrapped: the newest samples sit at its start.
        samples = gp.parse_ring(ring({0: (70_000, 3, 1, 0x401000), 1: (70_001, 0xFFFF, 0, 0xFFFF800000001000),
                                      5: (69_990, 2, 0, 0x402000)}))
        self.assertEqual([s.sequence for s in samples], [69_990, 70_000, 70_001])
        self.assertEqual(samples[0], gp.Sample(69_990, 2, 0, 0x402000))
        self.assertEqual([s.sequence for s in gp.newer_than(samples, 70_000)], [70_001])
        self.assertEqual(gp.latest(samples), 70_001)
        self.assertEqual(gp.latest([]), 0)

    def test_a_short_dump_is_refused(self):
        with self.assertRaises(gp.ProfileError):
            gp.parse_ring(b"\0" * 100)


class SummaryTest(unittest.TestCase):
    def setUp(self):
        self.symbols = gp.Symbols(Path("/nonexistent.elf"))  # nm fails: no names
        self.symbols.add_nm_output("0000000000401000 T main\n0000000000401100 t helper()\n"
                                   "0000000000402000 D data\n")

    def test_an_address_is_named_by_the_function_it_falls_in(self):
        self.assertEqual(self.symbols.name(0x401000), "main")
        self.assertEqual(self.symbols.name(0x4010FF), "main")
        self.assertEqual(self.symbols.name(0x401234), "helper()")
        self.assertEqual(self.symbols.name(0x400000), "0x400000")

    def test_shares_per_core_and_per_function(self):
        names = gp.process_names(["SLOT  ENDPOINT   NAME   CORE", "   2  0x10002    ip     0  blocked",
                                  "   3  0x10003    e1000  1  running"])
        self.assertEqual(names, {2: "ip", 3: "e1000"})
        samples = ([gp.Sample(i, 2, 0, 0x401010) for i in range(1, 4)] + [gp.Sample(4, gp.KERNEL_SLOT, 0, 0x401000)]
                   + [gp.Sample(i, 3, 1, 0x401200) for i in range(5, 9)])
        lines = gp.summary(samples, names, {"ip": self.symbols, "e1000": self.symbols, "kernel": self.symbols})
        self.assertEqual(lines[0], "8 samples")
        self.assertEqual(lines[1], "core 0: ip 75%, kernel 25%")
        self.assertEqual(lines[2], "core 1: e1000 100%")
        self.assertEqual(lines[3].split(), ["50.0%", "e1000", "helper()"])
        self.assertEqual(lines[4].split(), ["37.5%", "ip", "main"])
        self.assertEqual(lines[5].split(), ["12.5%", "kernel", "main"])
        self.assertEqual(gp.summary([], names, {}), ["no samples (was the run shorter than a timer tick?)"])


if __name__ == "__main__":
    unittest.main()
