"""The QMS improvement loop (TCVN ISO 9001:2015): documented information (7.5), risks (6.1),
internal audits (9.2), nonconformities (10.2) including those the dossier engine raises (8.7),
figures and objectives (9.1, 6.2), the management review (9.3), legal bases with their review
flags and the conformity announcement."""
