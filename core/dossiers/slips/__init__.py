"""The one-stop forms 01-06 of Circular 03/2025/TT-VPCP and the tracking book 07. Importing
the package subscribes `issued` to the dossier engine's transitions (slips issued at their
event)."""

from eiso.core.dossiers.slips import issued as issued
