"""Terminology: the Vietnamese code lists as FHIR CodeSystem/ValueSet resources (sources, builders,
`load`) and the terminology operations over whatever CodeSystems are stored ($lookup, $expand,
$validate-code, $subsumes; http://hl7.org/fhir/R4/terminology-service.html)."""
