"""This process's memory, measured one way for ``medsr upscale`` sidecars, cohort records and the
benchmark's cost column (review: Li, Sixou & Peyrin, IRBM 2021, section 3.4 weighs accuracy
against cost).

* :func:`peak_rss_mib`: the peak resident memory of the process so far (``getrusage``).
* :func:`reset_peak` / :func:`peak_since_reset_mib`: Linux only, the high-water mark is reset
  through ``/proc/self/clear_refs`` (value 5) and read back as ``VmHWM``, so one call's peak can
  be measured in a long-lived process.
* :func:`status_kib`: one ``/proc/self/status`` field (``VmRSS``, ``VmHWM``) in KiB.
* :func:`trim_heap`: hand free heap pages back to the system (glibc ``malloc_trim``), so that a
  call's allocations show in the resident size.
"""

from __future__ import annotations

import resource
import sys

__all__ = ["peak_rss_mib", "peak_since_reset_mib", "reset_peak", "status_kib", "trim_heap"]


def peak_rss_mib() -> float | None:
    """Peak resident memory of this process so far (MiB), from ``getrusage``."""
    try:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (AttributeError, OSError):  # pragma: no cover - non-POSIX
        return None
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def status_kib(field: str) -> int | None:
    """The ``field`` line of ``/proc/self/status`` in KiB (e.g. ``VmRSS``, ``VmHWM``); None where
    the file or the field is missing."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def trim_heap() -> None:
    """Return free heap memory to the system (glibc ``malloc_trim``; nothing elsewhere)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak() -> bool:
    """Reset this process's peak resident memory (Linux ``clear_refs`` 5); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_since_reset_mib(reset: bool) -> float | None:
    """Peak resident memory (MiB) since :func:`reset_peak` succeeded (``reset``; ``VmHWM``), else
    the process's peak so far (:func:`peak_rss_mib`). Never below the current resident size: some
    sandboxed kernels (gVisor) accept the reset but report a high-water mark under ``VmRSS``."""
    kib = status_kib("VmHWM") if reset else None
    if kib is None:
        return peak_rss_mib()
    return max(kib, status_kib("VmRSS") or 0) / 1024
