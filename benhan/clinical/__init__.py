"""EMR workflows on top of FHIR resources."""
