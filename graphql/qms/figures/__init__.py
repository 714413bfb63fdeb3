"""GraphQL: figures (9.1), quality objectives (6.2) and the yearly report on ISO application."""
