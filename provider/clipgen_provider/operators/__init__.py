"""Operators for the Clipia and Clipwise APIs."""
