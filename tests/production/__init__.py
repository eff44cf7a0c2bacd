"""The production-topology suite: a real Airflow cluster on PostgreSQL with the CeleryExecutor."""
