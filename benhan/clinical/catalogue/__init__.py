"""A facility's catalogues (drugs, services, supplies) imported from the insurer's layout into FHIR:
layouts.py reads the files, resources.py builds the resources, importer.py applies them by validity
date and reports each row. docs/catalogues.md has the column mapping."""
