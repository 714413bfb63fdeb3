"""GraphQL: who am I, and the adapters from core/auth/rules.py to Strawberry permissions."""
