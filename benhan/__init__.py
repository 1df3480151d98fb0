"""benhan — an electronic medical record on HL7 FHIR R4 for Vietnamese health facilities."""

__version__ = "0.1.0"
FHIR_VERSION = "4.0.1"
