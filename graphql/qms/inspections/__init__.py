"""GraphQL: the DOST's yearly inspection of ISO application (core/qms/inspections.py)."""
