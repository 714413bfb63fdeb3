"""GraphQL: the model QMS of Decision 101/QĐ-BKHCN adopted in bulk, the generated ISO process
documents, and the public list of conformity announcements (core/qms/model_qms.py,
process_docs.py, announcement_form.py)."""
