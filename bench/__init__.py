"""Benchmarks of the provider against the local sandbox: ``python -m bench`` (``make bench``).

Each module measures one thing (trigger scale, polling cost, API calls per job, worker-slot time,
import cost, the sandbox's own throughput) against real parts: real triggers and operators, real
HTTP over loopback, a real sandbox process. :mod:`bench.__main__` runs them all and writes
``docs/benchmarks.md`` and ``docs/benchmarks.json``.
"""
