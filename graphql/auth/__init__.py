"""GraphQL: who am I (the caller's subject, roles, scopes and tenant scope)."""
