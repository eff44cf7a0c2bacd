"""Upload one ``pattern://`` object-store file to the Clipwise sandbox and report the peak RSS.

Run as ``python -m tests.integration.upload_rss SIZE`` with ``clipwise_default`` pointing at the
sandbox. A small upload first loads every module and opens the connection, so the peak measured
around the real upload is what streaming SIZE bytes costs. Prints one JSON line:
``{"id", "rss_before", "rss_after"}`` (bytes).
"""

from __future__ import annotations

import gc
import json
import resource
import sys

from clipgen_provider.hooks.clipwise import ClipwiseHook, extract_id
from tests.file_stores import PATTERN_PROTOCOL, attach_pattern_store


def peak_rss() -> int:
    """This process's peak resident set size so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(size: int) -> None:
    attach_pattern_store()
    hook = ClipwiseHook()
    hook.upload_file(f"{PATTERN_PROTOCOL}://warmup-{1024 * 1024}.mp4", "video")
    gc.collect()
    before = peak_rss()
    answer = hook.upload_file(f"{PATTERN_PROTOCOL}://clip-{size}.mp4", "video")
    print(json.dumps({"id": extract_id(answer), "rss_before": before, "rss_after": peak_rss()}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
