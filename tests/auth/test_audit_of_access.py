"""The auditor's view of a day of logins and look-ups: N operations in the browser and through the
API become exactly the expected AuditEvents, found through FHIR (`AuditEvent?patient=…`,
`?subtype=…`, `?agent=…`), and answer "who looked at this patient's record, when"."""
from __future__ import annotations

from collections import Counter

from benhan.auth import break_glass
from tests.auth import ward as ward_mod
from tests.auth.test_login import csrf_of, login

N = 3


def trail(client, auditor: dict, **params) -> list[dict]:  # noqa: ANN001
    out, url, query = [], "/fhir/AuditEvent", {"_count": "200", **params}
    while url:
        page = client.get(url, params=query, headers=auditor).json()
        assert page["resourceType"] == "Bundle", page
        out += [e["resource"] for e in page.get("entry", [])]
        url = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), None)
        query = None
    return out


def codes(event: dict) -> set[str]:
    return {c["code"] for c in event.get("subtype", [])}


def test_logins_reads_and_break_the_glass_become_exactly_their_audit_events(client, anonymous_client, store):
    w = ward_mod.build(store)
    auditor = w.headers("kiemtra")
    for _ in range(N):
        assert login(anonymous_client, "lan", "sai mật khẩu rồi").status_code == 401
    for _ in range(N):
        assert login(anonymous_client, "lan", ward_mod.PASSWORD).status_code == 303
        anonymous_client.post("/logout", data={"csrf": csrf_of(anonymous_client.get("/").text)})
    p1, p2 = w.ids["p1"], w.ids["p2"]
    nurse = w.headers("lan")
    for _ in range(N):
        assert client.get(f"/fhir/Patient/{p1}", headers=nurse).status_code == 200
        assert client.get(f"/fhir/Patient/{p2}", headers=nurse).status_code == 403      # refused: audited too
    break_glass.open_grant(store, w.accounts["lan"], p2, "Cấp cứu: người bệnh khó thở nặng")
    after_glass = w.headers("lan")
    assert client.get(f"/fhir/Observation/{w.ids['o2']}", headers=after_glass).status_code == 200
    store.read_audit.flush()

    logins = trail(client, auditor, subtype="login")
    lan_logins = [e for e in logins if any(a.get("altId") == "lan" for a in e["agent"])]
    assert Counter(e["outcome"] for e in lan_logins) == {"4": N, "0": N}
    assert len([e for e in trail(client, auditor, subtype="logout")
                if any(a.get("altId") == "lan" for a in e["agent"])]) == N

    # Who looked at p2's record, when: the refused reads, the break-the-glass grant and the read it allowed.
    about_p2 = [e for e in trail(client, auditor, patient=f"Patient/{p2}")
                if any(a.get("altId") == "lan" for a in e["agent"])]
    refused = [e for e in about_p2 if e["outcome"] != "0"]
    assert len(refused) == N
    glass = [e for e in about_p2 if e.get("purposeOfEvent")]
    assert {c["code"] for e in glass for p in e["purposeOfEvent"] for c in p["coding"]} == {"BTG"}
    assert len(glass) == 2                                            # the grant itself, and the read under it
    # p1's record: exactly her N reads (and the setup's writes by the system).
    p1_reads = [e for e in trail(client, auditor, patient=f"Patient/{p1}")
                if any(a.get("altId") == "lan" for a in e["agent"])]
    assert len(p1_reads) == N and all(e["outcome"] == "0" for e in p1_reads)


def test_the_trail_is_for_auditors_not_for_the_clinicians_it_records(client, store):
    w = ward_mod.build(store)
    r = client.get("/fhir/AuditEvent", headers=w.headers("lan"))
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
