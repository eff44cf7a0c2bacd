"""Deferrable triggers: wait for remote jobs without holding a worker slot."""
