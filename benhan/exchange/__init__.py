"""The record in the national exchange formats: the CV 365 `HoSoBenhAn` XML/JSON (hosobenhan/).
Projections of the FHIR record that reuse the claim's episode extraction (benhan.claims), never the
other way round."""
