"""The GraphQL runtime: the ASGI view and the province dispatcher in front of it, the schema
class and its executor, limits, per-province schema assembly, the resolver context. Domain
folders do not import it."""
