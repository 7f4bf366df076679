"""Process memory (medsr.memory): the high-water mark reset and read back sees one allocation."""

from __future__ import annotations

import numpy as np

from medsr.memory import peak_rss_mib, peak_since_reset_mib, reset_peak, status_kib, trim_heap


def test_peak_since_reset_sees_a_64_mib_allocation() -> None:
    trim_heap()
    before = status_kib("VmRSS")
    assert before is not None and before > 0
    assert reset_peak()  # Linux: /proc/self/clear_refs
    block = np.ones(64 * 2**20, dtype=np.uint8)  # 64 MiB, every page touched
    assert int(block[::4096].sum()) == 64 * 2**20 // 4096
    del block
    peak = peak_since_reset_mib(True)
    assert peak is not None and peak >= (before + 60 * 1024) / 1024
    lifetime = peak_rss_mib()
    assert lifetime is not None and lifetime >= peak - 1.0  # getrusage never forgets


def test_missing_status_field_and_no_reset() -> None:
    assert status_kib("NoSuchField") is None
    no_reset, lifetime = peak_since_reset_mib(False), peak_rss_mib()
    assert no_reset is not None and lifetime is not None
    assert abs(no_reset - lifetime) < 1.0  # no reset: the process's peak so far
