"""The error tree. Each error has a stable code (BENHAN-NNNN), an HTTP status and an
OperationOutcome issue type (http://hl7.org/fhir/R4/valueset-issue-type.html).

The web layer turns any BenhanError into an OperationOutcome, the CLI into one line and a
non-zero exit. docs/errors.md is generated from ALL_ERRORS (``benhan errors docs``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detail:
    """One OperationOutcome issue beyond the headline (e.g. one validation problem)."""

    message: str
    expression: str | None = None
    severity: str = "error"
    code: str = "invalid"


class BenhanError(Exception):
    code = "BENHAN-0000"
    status = 500
    issue_type = "exception"
    title = "Unexpected error"

    def __init__(self, message: str | None = None, *, expression: str | None = None,
                 details: list[Detail] | None = None):
        self.message = message or self.title
        self.expression = expression
        self.details = details or []
        super().__init__(self.message)


def _error(code: str, status: int, issue_type: str, title: str, name: str) -> type[BenhanError]:
    return type(name, (BenhanError,), {"code": code, "status": status,
                                       "issue_type": issue_type, "title": title})


# --- the request itself is wrong (1xxx)
MalformedJson = _error("BENHAN-1001", 400, "structure", "The body is not valid JSON", "MalformedJson")
NotAResource = _error("BENHAN-1002", 400, "structure", "The body is not a FHIR resource (no resourceType)", "NotAResource")
ResourceTypeMismatch = _error("BENHAN-1003", 400, "invalid", "The resource type in the body does not match the URL", "ResourceTypeMismatch")
IdMismatch = _error("BENHAN-1004", 400, "invalid", "The id in the body does not match the URL", "IdMismatch")
MissingId = _error("BENHAN-1005", 400, "required", "An update needs the resource id in the body", "MissingId")
UnknownResourceType = _error("BENHAN-1006", 404, "not-supported", "Unknown resource type", "UnknownResourceType")
InvalidId = _error("BENHAN-1007", 400, "value", "Invalid resource id", "InvalidId")
UnsupportedMediaType = _error("BENHAN-1008", 415, "not-supported", "Unsupported content type", "UnsupportedMediaType")
PayloadTooLarge = _error("BENHAN-1009", 413, "too-costly", "The request body is too large", "PayloadTooLarge")
MethodNotAllowed = _error("BENHAN-1010", 405, "not-supported", "This method is not allowed here", "MethodNotAllowed")
NotAcceptable = _error("BENHAN-1011", 406, "not-supported", "The requested format is not supported", "NotAcceptable")
InvalidSearchParameter = _error("BENHAN-1012", 400, "value", "Invalid search parameter value", "InvalidSearchParameter")
UnknownSearchParameter = _error("BENHAN-1013", 400, "not-supported", "Unknown or unsupported search parameter", "UnknownSearchParameter")
InvalidPatch = _error("BENHAN-1014", 400, "invalid", "The patch cannot be applied", "InvalidPatch")
InvalidBundle = _error("BENHAN-1015", 400, "invalid", "The Bundle cannot be processed", "InvalidBundle")
InvalidVersion = _error("BENHAN-1016", 400, "value", "Invalid version id", "InvalidVersion")
InvalidHeader = _error("BENHAN-1017", 400, "value", "Invalid request header", "InvalidHeader")
RouteNotFound = _error("BENHAN-1018", 404, "not-found", "No such endpoint", "RouteNotFound")
InvalidOperationParameter = _error("BENHAN-1019", 400, "invalid", "An operation parameter is missing or invalid", "InvalidOperationParameter")
UnknownOperationParameter = _error("BENHAN-1020", 400, "not-supported", "Unknown or unsupported operation parameter", "UnknownOperationParameter")
ExpansionTooLarge = _error("BENHAN-1021", 400, "too-costly", "The expansion is too large to return whole; page it with count and offset", "ExpansionTooLarge")
ValueSetNotSupported = _error("BENHAN-1022", 400, "not-supported", "The value set uses a definition this server cannot evaluate", "ValueSetNotSupported")

# --- the state of stored resources (2xxx)
NotFound = _error("BENHAN-2001", 404, "not-found", "Resource not found", "NotFound")
Gone = _error("BENHAN-2002", 410, "deleted", "Resource deleted", "Gone")
VersionNotFound = _error("BENHAN-2003", 404, "not-found", "Version not found", "VersionNotFound")
VersionConflict = _error("BENHAN-2004", 412, "conflict", "The resource has changed since the version given in If-Match", "VersionConflict")
MultipleMatches = _error("BENHAN-2005", 412, "multiple-matches", "The condition matches more than one resource", "MultipleMatches")
Conflict = _error("BENHAN-2006", 409, "conflict", "The request conflicts with the stored resource", "Conflict")
ConditionalReferenceUnresolved = _error("BENHAN-2007", 400, "not-found", "A conditional reference matches no resource", "ConditionalReferenceUnresolved")
ReferenceUnresolved = _error("BENHAN-2008", 400, "not-found", "A reference in the Bundle cannot be resolved", "ReferenceUnresolved")
UnknownCodeSystem = _error("BENHAN-2009", 404, "not-found", "No such code system or value set on this server", "UnknownCodeSystem")
UnknownCode = _error("BENHAN-2010", 404, "not-found", "The code is not in the code system", "UnknownCode")
DuplicateIdentifier = _error("BENHAN-2011", 409, "duplicate", "Another current patient record already holds this identifier (CCCD, BHYT card); the message names it", "DuplicateIdentifier")

# --- the content is not valid FHIR (3xxx)
ValidationFailed = _error("BENHAN-3001", 422, "invalid", "The resource is not valid FHIR R4", "ValidationFailed")
InvalidIdentifier = _error("BENHAN-3002", 422, "value", "An identifier's value is not valid for its system (a CCCD is 12 digits with a known province, a BHYT card number has one of its forms)", "InvalidIdentifier")

# --- who may do what (5xxx): auth/ and the access rules; messages never describe the record refused
Unauthenticated = _error("BENHAN-5001", 401, "login", "Authentication required: no valid session or access token", "Unauthenticated")
Forbidden = _error("BENHAN-5002", 403, "forbidden", "Your role or access token does not permit this", "Forbidden")
OutsideCareScope = _error("BENHAN-5003", 403, "forbidden", "This patient is outside your departments and care relationships (break-the-glass is possible)", "OutsideCareScope")
PasswordRejected = _error("BENHAN-5004", 400, "invalid", "The password does not meet the password rules", "PasswordRejected")
LoginRefused = _error("BENHAN-5005", 401, "login", "The login was refused", "LoginRefused")
UnknownUser = _error("BENHAN-5006", 404, "not-found", "No such user", "UnknownUser")
CsrfRejected = _error("BENHAN-5007", 403, "forbidden", "The form expired or did not come from this site; reload and try again", "CsrfRejected")
UserExists = _error("BENHAN-5008", 409, "duplicate", "A user with this name already exists", "UserExists")
InvalidUserSetting = _error("BENHAN-5009", 400, "value", "Invalid user setting (role, department or access hours)", "InvalidUserSetting")
AuditChainBroken = _error("BENHAN-5010", 500, "exception", "The audit trail's hash chain is broken", "AuditChainBroken")

# --- signatures (7xxx): signing/ and the signed documents
SigningKeyUnavailable = _error("BENHAN-7001", 422, "processing", "The signing key could not be used (token absent, wrong PIN, unreadable key file)", "SigningKeyUnavailable")
CertificateRefused = _error("BENHAN-7002", 422, "business-rule", "The signer's certificate failed the check made before signing (revoked, expired, untrusted, not for signing, or its status could not be checked)", "CertificateRefused")
SignedDocumentImmutable = _error("BENHAN-7003", 409, "business-rule", "A signed version cannot be changed or deleted; write a correction that references it", "SignedDocumentImmutable")
SmsFailed = _error("BENHAN-7005", 502, "transient", "The SMS with the confirmation code could not be sent", "SmsFailed")
ConfirmationRefused = _error("BENHAN-7006", 422, "business-rule", "The confirmation code is wrong, expired or used up; ask for a new one", "ConfirmationRefused")
SignatureInvalid = _error("BENHAN-7004", 422, "invalid", "The signature does not verify: the document changed after signing, or the signature is not one benhan can read", "SignatureInvalid")
PaperDocumentRefused = _error("BENHAN-7007", 422, "invalid", "The paper document cannot be converted: not a PDF, JPEG or PNG, too large, too many pages, unreadable, or its details are wrong", "PaperDocumentRefused")
SealNotConfigured = _error("BENHAN-7008", 409, "business-rule", "The facility's seal (facility_seal_file and its password) is not configured or cannot be read", "SealNotConfigured")
RemoteSignatureRefused = _error("BENHAN-7010", 422, "business-rule", "The remote signature was refused or not approved in time on the signer's phone; nothing was signed", "RemoteSignatureRefused")
RemoteSigningUnavailable = _error("BENHAN-7011", 502, "transient", "The remote-signing service is not configured, cannot be reached, does not know the user, or answered outside benhan's contract", "RemoteSigningUnavailable")
ConfirmationImageRefused = _error("BENHAN-7020", 422, "invalid", "The signature drawn on the screen cannot be kept: empty, not a PNG image, or too large", "ConfirmationImageRefused")
AmendmentRefused = _error("BENHAN-7030", 422, "business-rule", "A correction after signing needs a reason, and amends only the latest signed version of a document benhan signs", "AmendmentRefused")
TimestampUnavailable = _error("BENHAN-7040", 502, "transient", "The time-stamping authority (signing_tsa_url) could not be reached or refused the request", "TimestampUnavailable")
# --- the MoH forms and the national e-prescription system (71xx; docs/forms.md)
PrescriptionSubmissionFailed = _error("BENHAN-7101", 502, "transient", "The national e-prescription system (national_prescription_url) is not configured, could not be reached, or refused the prescription; the message gives its answer", "PrescriptionSubmissionFailed")

# --- charges and who pays what (8001-8049 of the billing block): billing/charges.py, billing/coverage.py
BillingRulesInvalid = _error("BENHAN-8001", 500, "processing", "The billing rule data (benhan/billing/data or the facility's <data_dir>/billing corrections) cannot be read: a file, column or value is missing or wrong; the message names it", "BillingRulesInvalid")
# --- the cashier (8050-8069 of the billing block): billing/payments.py, billing/bank_statement.py
PaymentRefused = _error("BENHAN-8050", 422, "business-rule", "The payment, refund or advance cannot be recorded (amount not a positive whole number of đồng, more than is owed or was paid, the bill already paid, the shift closed, no reason for a refund)", "PaymentRefused")
BankStatementUnreadable = _error("BENHAN-8051", 422, "invalid", "The bank statement file cannot be read (not a CSV export with date, amount and description columns)", "BankStatementUnreadable")
# --- e-invoices (8070-8079 of the billing block): billing/einvoice/ (docs/einvoice.md)
EInvoiceInvalid = _error("BENHAN-8070", 422, "invalid", "The e-invoice breaks the tax authority's data rules (a required field, the symbol or number, the sums, the amount in words); the report names each field to fix", "EInvoiceInvalid")
EInvoiceNotPossible = _error("BENHAN-8071", 409, "business-rule", "No e-invoice can be made: e-invoicing is not configured (einvoice_provider_url, einvoice_seller_tax_code, einvoice_series), the receipt has no invoice to correct, or there is nothing to invoice", "EInvoiceNotPossible")
# --- BHYT claims (81xx; docs/claims.md)
ClaimGatewayUnavailable = _error("BENHAN-8101", 502, "transient", "The BHXH gateway (or its stand-in) did not answer or failed; the claim stays in the outbox and is retried", "ClaimGatewayUnavailable")
ClaimGatewayRefused = _error("BENHAN-8102", 502, "security", "The BHXH gateway refused the facility's account (user name, password or facility code)", "ClaimGatewayRefused")
ClaimInvalid = _error("BENHAN-8103", 422, "invalid", "The claim tables break the BHYT data rules; the report names each record and field to fix", "ClaimInvalid")
ClaimNotPossible = _error("BENHAN-8104", 409, "business-rule", "No BHYT claim can be made for this visit (no card, not a BHYT visit, not finished, or the gateway is not configured)", "ClaimNotPossible")
# --- coming into benhan: NDJSON and a previous HIS's BHYT XML (85xx; docs/operations.md)
ImportUnreadable = _error("BENHAN-8501", 422, "invalid", "The import source cannot be read: no such file or folder, not NDJSON (one FHIR resource per line), not a BHYT XML file (GIAMDINHHS or a table), or a URL outside the import folder; the message names it", "ImportUnreadable")
# --- the record in the CV 365 exchange format (86xx; docs/hosobenhan.md)
RecordExportInvalid = _error("BENHAN-8601", 422, "invalid", "The record cannot be exported as HoSoBenhAn (CV 365): a value does not fit the schema (type, length, code); the message names the group and field to fix", "RecordExportInvalid")

# --- going out of benhan: Bulk Data $export and the full export (88xx; docs/fhir-api.md, docs/operations.md)
ExportInProgress = _error("BENHAN-8801", 429, "throttled", "An export of yours is still running: poll its status URL or delete it before asking for another (Retry-After says when to try)", "ExportInProgress")
ExportNotFound = _error("BENHAN-8802", 404, "not-found", "No such export of yours (unknown, deleted or expired)", "ExportNotFound")
ExportExpired = _error("BENHAN-8803", 410, "deleted", "The export expired; its files are deleted (ask for a new one)", "ExportExpired")
ExportFailed = _error("BENHAN-8804", 500, "exception", "The export failed; the message says why (ask for a new one)", "ExportFailed")
ExportTargetUnusable = _error("BENHAN-8805", 400, "invalid", "The export folder cannot be used: it must be new or empty, and writable", "ExportTargetUnusable")
# --- the installation (4xxx)
ConfigError = _error("BENHAN-4001", 500, "exception", "Invalid configuration", "ConfigError")
SchemaUnknown = _error("BENHAN-4002", 503, "exception", "The database schema is not one this version knows", "SchemaUnknown")
BackupFailed = _error("BENHAN-4003", 500, "exception", "The backup failed", "BackupFailed")
RestoreRefused = _error("BENHAN-4004", 500, "exception", "The restore was refused", "RestoreRefused")
DatabaseBusy = _error("BENHAN-4005", 503, "transient", "The database is busy; try again", "DatabaseBusy")
AuditUnavailable = _error("BENHAN-4006", 503, "transient", "The audit trail cannot be written; reads are refused until it can", "AuditUnavailable")
DatabaseDamaged = _error("BENHAN-4007", 500, "exception", "The database file is damaged; restore it from a backup", "DatabaseDamaged")
UpgradeFailed = _error("BENHAN-4008", 500, "exception", "The upgrade failed; the database was rolled back to the previous version", "UpgradeFailed")
InternalError = _error("BENHAN-4999", 500, "exception", "Internal server error (logged)", "InternalError")

ALL_ERRORS: tuple[type[BenhanError], ...] = tuple(
    v for v in list(globals().values())
    if isinstance(v, type) and issubclass(v, BenhanError) and v is not BenhanError
)


def docs_markdown() -> str:
    lines = ["# Error codes", "",
             "Generated from `benhan/errors.py` by `benhan errors docs`; a test keeps it in step.",
             "Every API error is an OperationOutcome whose first issue carries the code in",
             "`issue.details.coding` (system `https://benhan.vn/fhir/CodeSystem/error`).", "",
             "| code | HTTP | issue type | meaning |", "|---|---|---|---|"]
    for e in sorted(ALL_ERRORS, key=lambda e: e.code):
        lines.append(f"| `{e.code}` | {e.status} | `{e.issue_type}` | {e.title} |")
    return "\n".join(lines) + "\n"
