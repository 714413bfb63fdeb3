"""Building blocks the domain folders share: global ids, cursor connections and pages, the
permission guard, loading a node by its global id, the caller's agency and transactions,
selections and primed dataloaders."""
