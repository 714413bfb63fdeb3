"""GraphQL for the QMS, in three parts laid out alike (nodes, queries, mutations): registers
(documents, nonconformities, risks, internal audits), figures (figures, objectives, the yearly
report) and improvement (legal changes, conformity announcements, management reviews)."""
