"""HTTP: the FHIR REST API (and later sync endpoints and the clinician UI). The only package that
imports the web framework."""
