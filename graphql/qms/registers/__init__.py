"""GraphQL: the QMS registers: documents (7.5), nonconformities (10.2), risks (6.1) and
internal audits (9.2)."""
