"""The memory allocator's options for a bulk run, set before Polars is first imported (it reads them once).

A run in parts allocates and frees arrays of the same sizes part after part. Polars' allocator (jemalloc) gives
freed pages back to the system within seconds, and the next part takes them again, every page faulted in and zeroed
by the kernel: on 10 million rows that was about a tenth of the run's CPU (kernel time 6.8 s, 3.4 s with the pages
kept). A bulk run is a batch process that ends, so it keeps them; a user who set the allocator's options keeps
theirs, and a process that already imported Polars (a test, the API's server) is left as it is.
"""

from __future__ import annotations

import os
import sys

OPTIONS = "dirty_decay_ms:-1,muzzy_decay_ms:-1"  # never give freed pages back while the run lasts
# jemalloc's options as Polars builds it; Polars' own import appends what is set here to its defaults (which give
# pages back after half a second)
VARIABLE = "_RJEM_MALLOC_CONF"


def keep_freed_pages() -> None:
    if "polars" not in sys.modules:
        os.environ.setdefault(VARIABLE, OPTIONS)
