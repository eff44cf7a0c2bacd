"""Apache Airflow provider for the Clipia and Clipwise AI media-generation APIs."""

__version__ = "0.1.0"
