"""GraphQL: the improvement loop: legal changes and review flags, conformity announcements,
management reviews (9.3)."""
