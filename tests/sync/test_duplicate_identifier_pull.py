"""A Patient arriving by sync with a CCCD a local Patient holds is never dropped nor refused: it is
stored, and the pair goes to the "same person" review — at the hub for pushes (as before) and now
at a node for what it pulls (here: a patient fetched by CCCD while an offline registration of the
same person waits at the node). On SQLite and PostgreSQL hubs."""
from __future__ import annotations

from benhan.store import sync_tables as st
from benhan.auth.purposes import SHARE_PROVIDERS, permit
from tests import factories


def _patient_ids(store) -> set[str]:  # noqa: ANN001
    from sqlalchemy import select

    from benhan.store.schema import resource
    with store.db.read() as conn:
        return set(conn.execute(select(resource.c.res_id).where(resource.c.res_type == "Patient")).scalars())


def test_a_pulled_patient_with_a_local_patients_cccd_is_kept_and_set_out_for_review(hub, make_node):
    a, b = make_node("tyt-a"), make_node("tyt-b")
    number = "038090007777"
    pa = a.repo.create("Patient", factories.patient(cccd=number)).res_id
    a.repo.create("Consent", permit(pa, SHARE_PROVIDERS, method="otp"))    # sharing is opt-in
    a.round()
    pb = b.repo.create("Patient", factories.patient(cccd=number, given=("Thị", "Mai"))).res_id   # offline, at B
    assert pa in b.sync().fetch(number, "bs.hoa")
    assert {pa, pb} <= _patient_ids(b.store)                 # nothing dropped
    with b.store.db.read() as conn:
        [d] = st.duplicates(conn)
    assert {d.patient_a, d.patient_b} == {pa, pb} and d.value == number
