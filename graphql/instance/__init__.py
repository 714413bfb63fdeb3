"""GraphQL: the eiso instance a caller talks to, its version and the modules the caller's
schema holds (switching modules: graphql/tenants/mutations.py)."""
