"""Process settings for serving: the garbage collector's thresholds and malloc's mmap threshold.

The collector: every upstream event becomes a few dozen short-lived objects (the parsed JSON, the translated
chunk), so CPython's default generation-0 threshold (700 allocations) ran a collection every few
events, and each older-generation pass walked everything the process had built at startup
(SQLAlchemy, pydantic, FastAPI). py-spy blamed the JSON parser for 38 % of the gateway's CPU while
streaming; it was the collector. Measured with `python -m bench.run --quick --only latency --only
streaming` (docs/benchmarks.md): freezing the startup objects and raising the thresholds took CPU
per streamed chunk from 15–18 µs to 10–11 µs and requests/s at concurrency 64 from ~1,600 to
~2,200–2,500. Almost nothing here is cyclic garbage (reference counting frees it), so collecting
less often costs little memory.

malloc: see `tune_malloc`. `switchyard serve` applies both, and so does the benchmarks' byte-relay
floor, so the two compare like with like; tests, which build many apps in one process, keep the
defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys

log = logging.getLogger(__name__)

GEN0_THRESHOLD = 50_000
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 20


M_MMAP_THRESHOLD = -3
"""glibc's `mallopt` parameter number (malloc.h)."""
MMAP_THRESHOLD_BYTES = 1024 * 1024


def tune_process() -> None:
    """Both settings; call once the app is built (its objects are what the collector should skip)."""
    tune_gc()
    tune_malloc()


def tune_gc() -> None:
    """Move what exists now (modules, the built app) out of the collector's sight; collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)


def tune_malloc() -> None:
    """Serve every allocation of 1 MiB or more from its own mapping, returned to the system when freed.

    glibc raises its mmap threshold each time a mapped block is freed, up to 32 MiB; after the first
    request with a 20 MB image, later ones are carved from the heap, whose freed middle is kept, and
    the resident size grew by 3.4x the image instead of 2.4x (docs/benchmarks.md, scenario 4).
    Setting the threshold fixes it. Other C libraries (musl, macOS) are left as they are.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.debug("no glibc mallopt here; malloc keeps its own thresholds")
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:
        log.debug("mallopt(M_MMAP_THRESHOLD) was refused; malloc keeps its own thresholds")
