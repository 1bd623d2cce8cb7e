"""Airflow hooks of the inFakt provider."""
