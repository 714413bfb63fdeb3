"""GraphQL's Relay entry points: `node(id:)` and `nodes(ids:)` over every type with a global id."""
