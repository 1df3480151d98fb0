"""The parts of a record that only a clinical act may write (store.act_rules holds them on every
write path: the clinician app, the FHIR API, batches, PATCH).

The discharge (auth.roles.DISCHARGE, the doctor's): the treatment result, the disposition and the
receiving facility of a transfer, a death with its cause, the pathology result. A nurse keeps
updating the Encounter's location and status; the front desk creates and closes untreated visits
(discharge.close writes none of these parts)."""
from __future__ import annotations

from benhan.auth.roles import DISCHARGE
from benhan.clinical import outcome
from benhan.clinical.discharge import RESULT_EXT
from benhan.store.act_rules import ActRule, install

_OUTCOME_EXTENSIONS = (RESULT_EXT, outcome.DEATH_EXT, outcome.PATHOLOGY_EXT)


def _encounter_outcome(body: dict) -> tuple:
    ext = sorted((str(e.get("url")), repr(e)) for e in body.get("extension") or []
                 if isinstance(e, dict) and e.get("url") in _OUTCOME_EXTENSIONS)
    stay = body.get("hospitalization") if isinstance(body.get("hospitalization"), dict) else {}
    level = [repr(e) for e in stay.get("extension") or [] if isinstance(e, dict) and e.get("url") == outcome.LEVEL_EXT]
    return (tuple(ext), repr(stay.get("dischargeDisposition")), repr(stay.get("destination")), tuple(level))


RULES = (ActRule(DISCHARGE, "Encounter", _encounter_outcome,
                 "the treatment result, disposition, transfer or death of a visit"),)


def install_rules() -> None:
    for rule in RULES:
        install(rule)
