"""A signed version cannot be changed or deleted (TT 13/2025; DESIGN §6): whatever writes — the
REST API, a batch, a PATCH, the clinician app — the store refuses a new version or a deletion of a
resource whose current version carries the signed tag. A correction is a new resource that
references the signed one (Composition.relatesTo, DocumentReference.relatesTo), itself signed.

The tag is set by the signing code (benhan.documents) on the document Bundle and the
DocumentReference holding the signed PDF. Checked inside the write transaction, after the
version a writer saw could have been signed by someone else.
"""
from __future__ import annotations

from sqlalchemy import Connection, and_, select

from benhan import errors
from benhan.fhir.resource_json import loads
from benhan.store.schema import resource, resource_version
from benhan.store.writer import PendingWrite, decode_body

SIGNED_SYSTEM = "https://benhan.vn/fhir/CodeSystem/document-state"
SIGNED_CODE = "signed"
SIGNED_TAG = {"system": SIGNED_SYSTEM, "code": SIGNED_CODE, "display": "Đã ký số (không sửa được)"}


def is_signed(body: dict | None) -> bool:
    tags = ((body or {}).get("meta") or {}).get("tag") or []
    return any(isinstance(t, dict) and t.get("system") == SIGNED_SYSTEM and t.get("code") == SIGNED_CODE
               for t in tags)


def check(conn: Connection, pending: list[PendingWrite]) -> None:
    """409 SignedDocumentImmutable for a change or deletion of a signed current version (an
    identical re-send, which makes no version, is let through)."""
    for p in pending:
        if p.create_only or p.method == "POST":
            continue
        row = conn.execute(
            select(resource_version.c.encoding, resource_version.c.body, resource.c.deleted, resource.c.content_hash)
            .select_from(resource.join(resource_version, and_(resource_version.c.resource_pk == resource.c.pk,
                                                               resource_version.c.version == resource.c.version)))
            .where(and_(resource.c.res_type == p.res_type, resource.c.res_id == p.res_id))).first()
        if row is None or row.deleted:
            continue
        current = loads(decode_body(row.encoding, row.body))
        if not is_signed(current):
            continue
        if p.resource is not None and p.content_hash == bytes(row.content_hash):
            continue
        raise errors.SignedDocumentImmutable(
            f"{p.res_type}/{p.res_id} đã được ký số, không sửa hoặc xóa được; hãy tạo bản sửa đổi tham chiếu "
            f"đến nó | {p.res_type}/{p.res_id} is signed and cannot be changed or deleted; write a correction "
            "that references it")
