"""Airflow sensors of the inFakt provider."""
