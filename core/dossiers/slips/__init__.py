"""The one-stop slips 01-05 of Decision 09/2024 and the tracking book 06."""
