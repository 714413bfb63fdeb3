"""GraphQL of the dossier engine."""
