"""Core GraphQL fields that belong to no domain: the server's version."""
