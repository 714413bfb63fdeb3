"""The QMS improvement loop (TCVN ISO 9001:2015): documented information (7.5), risks (6.1),
internal audits (9.2) and nonconformities (10.2). Figures, objectives and the management review
build on the dossier engine and come later."""
