"""Airflow operators of the inFakt provider."""
