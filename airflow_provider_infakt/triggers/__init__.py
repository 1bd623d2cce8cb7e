"""Airflow triggers of the inFakt provider (the async side of deferrable sensors)."""
