"""Sensors that wait for jobs submitted elsewhere (another task, another system)."""
