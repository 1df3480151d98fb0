"""The layering of DESIGN §3, checked by parsing imports: fhir imports nothing of ours; store may
import fhir; the middle layers sit on store; web and cli are edges nothing imports; each
third-party library of a kind has one home."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "benhan"

# layer -> the benhan layers it may import
ALLOWED = {
    "fhir": {"fhir"},
    "store": {"fhir", "store", "auth"},
    "auth": {"fhir", "store", "auth"},
    "audit": {"fhir", "store", "auth", "audit"},
    "terminology": {"fhir", "store", "auth", "terminology"},
    "vn": {"fhir", "store", "vn", "terminology"},
    "clinical": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical"},
    "signing": {"fhir", "signing"},                               # certificates, PAdES, JWS: no records
    "outbox": {"fhir", "store", "outbox"},                        # the durable delivery queue to other services
    "billing": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical", "signing", "outbox", "billing"},
    "claims": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical", "signing", "outbox", "billing",
               "claims"},
    "documents": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical", "signing", "documents"},
    "sync": {"fhir", "store", "auth", "audit", "vn", "sync"},   # vn: CCCD of on-demand fetches
    # exchange: the record in the national exchange formats (CV 365 HoSoBenhAn …): a projection of the
    # record that reuses the claim's episode extraction (claims), so it sits above claims.
    "exchange": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical", "billing", "claims",
                 "exchange"},
    # ops: running the installation (`benhan doctor`, the health page): reads what store, audit, sync,
    # outbox and signing keep and says what is wrong; above them, below web and cli.
    "ops": {"fhir", "store", "auth", "audit", "sync", "outbox", "signing", "ops"},
    # pharmacy: stock (receipts, transfers, counts), dispensing against it and the pharmacy's registers:
    # it reads prescriptions (clinical) and keeps its ledger in store; below web and cli.
    "pharmacy": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical", "pharmacy"},
    # assess: the EMR self-assessment (`benhan assess`) and the hub's provincial dashboard: it reads what
    # the installation keeps (store counts, `benhan doctor`'s checks in ops, sync status, code lists) and
    # prints with the printouts' fonts (clinical); below web and cli, nothing else imports it.
    "assess": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical", "sync", "ops", "assess"},
    # lab: the analysers' results over HL7 v2/MLLP (docs/lab.md): parses messages and writes the
    # orders' results (clinical) as the analyser's system actor; below web and cli.
    "lab": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical", "outbox", "lab"},
    "web": {"fhir", "store", "auth", "audit", "terminology", "vn", "clinical", "sync", "signing", "documents",
            "outbox", "billing", "claims", "exchange", "ops", "pharmacy", "assess", "lab", "web"},
    "cli": {"*"},
}
TOP_LEVEL = {"config", "errors", "__init__"}   # importable from everywhere
# third-party library -> the only layers that may import it
HOMES = {
    "starlette": {"web"}, "uvicorn": {"web", "cli"}, "sqlalchemy": {"store"}, "alembic": {"store"},
    "psycopg": {"store"}, "httpx": {"sync", "outbox", "signing"}, "typer": {"cli"}, "fhirpathpy": {"fhir"},
    "pyhanko": {"signing"}, "pyhanko_certvalidator": {"signing"}, "pkcs11": {"signing"},
    "signxml": {"signing"}, "segno": {"billing", "documents"}, "hl7": {"lab"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) == 1 and rel.stem.startswith("cli_"):
        return "cli"    # cli_users.py …: command groups split out of cli.py
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_each_layer_imports_only_the_layers_below_it():
    violations = []
    for path in PACKAGE.rglob("*.py"):
        layer = _layer(path)
        if layer in TOP_LEVEL:
            allowed = {"config", "errors"}
        else:
            allowed = ALLOWED.get(layer, set())
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "benhan" or len(parts) < 2:
                continue
            target = parts[1]
            if target in TOP_LEVEL or "*" in allowed:
                continue
            if target not in allowed:
                violations.append(f"{path.relative_to(PACKAGE.parent)} ({layer}) imports {name}")
    assert violations == []


def test_nothing_imports_web_or_cli():
    offenders = [f"{p.relative_to(PACKAGE.parent)} imports {n}"
                 for p in PACKAGE.rglob("*.py") if _layer(p) not in ("web", "cli")
                 for n in _imports(p) if n.split(".")[:2] in (["benhan", "web"], ["benhan", "cli"])]
    assert offenders == []


def test_each_third_party_library_has_one_home():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        layer = _layer(path)
        for name in _imports(path):
            lib = name.split(".")[0]
            if lib in HOMES and layer not in HOMES[lib]:
                offenders.append(f"{path.relative_to(PACKAGE.parent)} ({layer}) imports {name}")
    assert offenders == []
