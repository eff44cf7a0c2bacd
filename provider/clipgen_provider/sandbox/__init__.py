"""Local sandbox of the Clipia and Clipwise APIs: offline, free, deterministic.

Start it with ``python -m clipgen_provider.sandbox --port 8765``, build it in-process with
``clipgen_provider.sandbox.app.create_app``, or run it for a test with
``clipgen_provider.sandbox.server.SandboxServer``. See ``docs/sandbox.md``.
"""
