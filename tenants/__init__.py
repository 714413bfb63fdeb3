"""Provinces, agencies and units; the tenant scope that isolates every query."""
