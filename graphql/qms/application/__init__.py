"""GraphQL: how an agency applies its QMS and the province's ISO steering committee
(core/qms/application.py)."""
