"""Operational jobs (upload, endpoint deploy/rollback, clean-up, low-stock alerts) that sit beside the asset graph."""
