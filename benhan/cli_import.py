"""`benhan import …`: bring data into benhan — NDJSON (a FHIR export, from benhan or another server)
and the BHYT XML tables of a previous HIS (docs/operations.md "Coming into benhan")."""
from __future__ import annotations

import typer

import_app = typer.Typer(help="Bring data into benhan: FHIR NDJSON files, a previous HIS's BHYT XML tables.",
                         no_args_is_help=True)
