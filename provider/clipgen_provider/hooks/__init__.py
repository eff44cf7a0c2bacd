"""Hooks: authenticated HTTP access to the Clipia and Clipwise APIs."""
