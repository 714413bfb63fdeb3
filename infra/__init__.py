"""Technical adapters: database engine and sessions, Redis, ids, migrations. No domain here."""
