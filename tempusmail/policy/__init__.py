"""Sending limits: the Postfix policy service (server.py) and its Redis counters (store.py)."""
