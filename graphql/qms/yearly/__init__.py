"""GraphQL: the yearly report on ISO application as a workflow (core/qms/yearly_reports.py)."""
