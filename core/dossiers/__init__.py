"""The dossier engine (clause 8.5): procedure catalogue, adoption, dossiers and their lifecycle."""
