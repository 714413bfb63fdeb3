"""Who is calling: principals, roles and scopes; tokens and permission rules build on these."""
