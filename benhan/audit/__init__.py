"""The audit trail seen from above the store: verifying its hash chain, searching it, and showing
its rows as FHIR AuditEvents (docs/audit.md). Rows are written by store.audit_log."""
