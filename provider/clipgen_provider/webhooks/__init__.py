"""Clipia webhooks: signatures (``signature``), and the receiver and mailbox used by triggers.

Kept free of heavy imports so the sandbox can sign deliveries without importing Airflow.
"""
