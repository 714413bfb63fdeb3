"""GraphQL for the QMS improvement loop: documents, nonconformities, risks, internal audits."""
