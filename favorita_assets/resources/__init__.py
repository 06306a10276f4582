"""Swappable backends as typed Dagster resources: one abstract base each, a local and (later) an AWS implementation."""
