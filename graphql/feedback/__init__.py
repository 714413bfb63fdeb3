"""GraphQL of citizens' feedback and petitions (core/feedback)."""
