"""The QMS improvement loop (TCVN ISO 9001:2015): documented information (7.5), risks (6.1),
internal audits (9.2), nonconformities (10.2) including those the dossier engine raises (8.7),
figures and objectives (9.1, 6.2), the management review (9.3), legal bases with their review
flags and the conformity announcement.

Importing this package subscribes the QMS to what the dossier domain announces
(core/dossiers/listeners.py): a transition or a refused move may raise a nonconformity
(dossier_ncs.py), a catalogue sync records the procedures' legal bases (legal.py), an adoption
outside the QMS scope, an adoption ended or a merge of agencies requires re-announcing conformity
(conformity.py); an adoption or a changed procedure (re)generates its ISO process document
(process_docs.py); every move, rating and merge keeps the figures' rollups (rollups.py). Every
process that moves dossiers imports it: the app, the CLI, the tests.
"""

from eiso.core.dossiers import listeners
from eiso.core.qms import conformity, dossier_ncs, legal, process_docs, rollups
from eiso.tenants.reorganisation import on_agencies_merged, on_provinces_merged

listeners.on_transition(dossier_ncs.after_transition)
listeners.on_refusal(dossier_ncs.after_refusal)
listeners.on_catalogue_sync(legal.sync_from_procedures)
listeners.on_adoption(legal.after_adoption)
listeners.on_adoption(conformity.after_adoption)
listeners.on_drop(conformity.after_drop)
# The process document of each adopted procedure, regenerated when the procedure changes.
listeners.on_adoption(process_docs.after_adoption)
listeners.on_catalogue_sync(process_docs.after_sync)
on_agencies_merged(conformity.after_merge)
listeners.on_transition(rollups.after_transition)
listeners.on_batch(rollups.batched)
listeners.on_update(rollups.after_update)
on_agencies_merged(rollups.after_agencies_merged)
on_provinces_merged(rollups.after_provinces_merged)
