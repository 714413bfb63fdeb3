"""Demo data for `eiso demo`: `load` puts it in (idempotently), `plan` draws the dossiers from a
fixed seed, `people` makes up their applicants and sector data, `dossiers` moves them through
the dossier engine. Only the composition root (the CLI, tests) imports this package."""
