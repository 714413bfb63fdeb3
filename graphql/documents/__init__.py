"""GraphQL: trusted (persisted) documents, registered by national administrators."""
