"""Transaction Bundles shaped like Synthea's FHIR R4 patient exports, for the ingest benchmark.

No Synthea data is on this machine, so this module writes its own, imitating what Synthea's R4
exporter (github.com/synthetichealth/synthea, src/main/java/org/mitre/synthea/export/FhirR4.java
and ExportHelper.java) produces with `exporter.fhir.transaction_bundle = true`:

- one transaction Bundle per patient, every entry `POST <Type>` with a `urn:uuid:` fullUrl, the
  references between the patient's resources written as those urn:uuid URLs;
- the shared Organization, Location and Practitioner resources posted as conditional creates
  (`ifNoneExist: identifier=<system>|<value>`, Synthea's UNDUPLICATED_FHIR_RESOURCES) — Synthea
  writes them into separate hospitalInformation/practitionerInformation Bundles (`shared_bundle`);
  by default each patient Bundle here also carries the ones it uses, as a client sending
  self-contained Bundles does — and referred to everywhere by conditional references
  (`Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|…`, `Organization?identifier=
  https://github.com/synthetichealth/synthea|…`, `Location?identifier=…`: buildFhirNpiSearchUrl,
  buildFhirSearchUrl);
- per encounter, as Synthea's exporter emits them: the Encounter (participant, location and
  serviceProvider as conditional references), its Conditions, Observations (vital signs with
  the blood-pressure panel's two components, laboratory panels, a social-history survey with
  many components), the DiagnosticReports of the panels (result → the Observations), a clinical
  note as a DiagnosticReport and a DocumentReference (base64 text), Procedures, Immunizations,
  MedicationRequests (each with its own Claim and ExplanationOfBenefit), sometimes a CarePlan
  (with a narrative), CareTeam and Goal; then the encounter's Claim (items pointing at the
  encounter, diagnosisSequence/procedureSequence, diagnosis → Condition, procedure →
  Procedure) and ExplanationOfBenefit (contained ServiceRequest and Coverage, careTeam, items
  with six adjudications each, totals, payment: several KB); the Patient with US Core
  extensions and a narrative first, one Provenance targeting every resource of the Bundle last.

The mix this gives for a 1,000-entry Bundle (`python bench/synthea_like.py --describe 1000`)
is about: Observation 51 %, Claim 8 %, ExplanationOfBenefit 8 %, DiagnosticReport 7 %,
Procedure 5 %, Encounter 4 %, DocumentReference 4 %, Condition 4 %, MedicationRequest 4 %,
Immunization 1 %, the rest (Patient, CarePlan, CareTeam, Goal, AllergyIntolerance, Provenance,
the shared Practitioner/Organization/Location) under 1 % each; ~2 KB of JSON per entry, EOBs
~8 KB, Claims ~2 KB, the Provenance ~65 bytes per target; ~5 references per entry, one in five
of them conditional. These are the proportions of Synthea's published R4 samples as we know
them (Observations about half, a Claim and an EOB per encounter and per prescription), not a
measurement of them.

Sizes: `bundle_sizes(n)` spreads entry counts from 100 to 4,000 (log-uniform, the largest
always included): Synthea's bundles range from a few hundred entries (a young patient) to
several thousand (an old one with chronic conditions).

Usage:
    from synthea_like import World, patient_bundle, bundle_sizes
    world = World(seed=1)
    bundle = patient_bundle(world, entries=500, seed=7)
    python bench/synthea_like.py --describe 1000     # the mix and sizes of one Bundle
"""
from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

SYNTHEA = "https://github.com/synthetichealth/synthea"
NPI = "http://hl7.org/fhir/sid/us-npi"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
TZ = timezone(timedelta(hours=-5))

ENCOUNTER_TYPES = [("162673000", "General examination of patient (procedure)", "AMB", "wellness"),
                   ("185349003", "Encounter for check up (procedure)", "AMB", "wellness"),
                   ("185345009", "Encounter for symptom (procedure)", "AMB", "ambulatory"),
                   ("390906007", "Follow-up encounter (procedure)", "AMB", "ambulatory"),
                   ("50849002", "Emergency room admission (procedure)", "EMER", "emergency"),
                   ("32485007", "Hospital admission (procedure)", "IMP", "inpatient")]
CONDITIONS = [("444814009", "Viral sinusitis (disorder)"), ("195662009", "Acute viral pharyngitis (disorder)"),
              ("10509002", "Acute bronchitis (disorder)"), ("15777000", "Prediabetes"),
              ("271737000", "Anemia (disorder)"), ("59621000", "Essential hypertension (disorder)"),
              ("162864005", "Body mass index 30+ - obesity (finding)"), ("40055000", "Chronic sinusitis (disorder)"),
              ("68496003", "Polyp of colon"), ("55822004", "Hyperlipidemia"), ("44054006", "Diabetes")]
PROCEDURES = [("430193006", "Medication Reconciliation (procedure)"),
              ("710824005", "Assessment of health and social care needs (procedure)"),
              ("171207006", "Depression screening (procedure)"), ("117015009", "Throat culture (procedure)"),
              ("73761001", "Colonoscopy"), ("76601001", "Intramuscular injection"),
              ("428191000124101", "Documentation of current medications (procedure)"),
              ("274804006", "Evaluation of uterine fundal height")]
MEDICATIONS = [("313782", "Acetaminophen 325 MG Oral Tablet"), ("308182", "Amoxicillin 250 MG Oral Capsule"),
               ("314076", "lisinopril 10 MG Oral Tablet"), ("197361", "amLODIPine 5 MG Oral Tablet"),
               ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
               ("849574", "Naproxen sodium 220 MG Oral Tablet"), ("1049221", "Acetaminophen 325 MG / Oxycodone")]
VACCINES = [("140", "Influenza, seasonal, injectable, preservative free"), ("08", "Hep B, adolescent or pediatric"),
            ("113", "Td (adult) preservative free"), ("133", "Pneumococcal conjugate PCV 13"),
            ("62", "HPV, quadrivalent"), ("115", "Tdap")]
VITALS = [("8302-2", "Body Height", "cm", 150, 190), ("29463-7", "Body Weight", "kg", 50, 110),
          ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 18, 35), ("8867-4", "Heart rate", "/min", 55, 100),
          ("9279-1", "Respiratory rate", "/min", 12, 20), ("72514-3", "Pain severity - 0-10 verbal numeric rating "
                                                                     "[Score] - Reported", "{score}", 0, 4)]
PANELS = [("51990-0", "Basic metabolic panel - Blood", [
              ("2339-0", "Glucose", "mg/dL", 65, 110), ("6299-2", "Urea Nitrogen", "mg/dL", 7, 20),
              ("38483-4", "Creatinine", "mg/dL", 0.6, 1.3), ("49765-1", "Calcium", "mg/dL", 8.5, 10.2),
              ("2947-0", "Sodium", "mmol/L", 136, 145), ("6298-4", "Potassium", "mmol/L", 3.5, 5.1),
              ("2069-3", "Chloride", "mmol/L", 98, 107), ("20565-8", "Carbon Dioxide", "mmol/L", 22, 29)]),
          ("57698-3", "Lipid panel with direct LDL - Serum or Plasma", [
              ("2093-3", "Total Cholesterol", "mg/dL", 150, 240), ("2571-8", "Triglycerides", "mg/dL", 80, 200),
              ("18262-6", "Low Density Lipoprotein Cholesterol", "mg/dL", 70, 160),
              ("2085-9", "High Density Lipoprotein Cholesterol", "mg/dL", 35, 80)]),
          ("58410-2", "CBC panel - Blood by Automated count", [
              ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 3.5, 10.5),
              ("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL", 3.9, 5.7),
              ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12, 17),
              ("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 35, 50),
              ("787-2", "MCV [Entitic volume] by Automated count", "fL", 80, 95),
              ("785-6", "MCH [Entitic mass] by Automated count", "pg", 27, 33),
              ("786-4", "MCHC [Mass/volume] by Automated count", "g/dL", 32, 36),
              ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 450)])]
SURVEY = [("93043-8", "Are you a refugee?"), ("56051-6", "Do you consider yourself Hispanic/Latino?"),
          ("32624-9", "Race"), ("93035-4", "At any point in the past 2 years, has season or migrant farm work "
                                           "been your or your family's main source of income?"),
          ("93034-7", "Have you been discharged from the armed forces of the United States?"),
          ("54899-0", "Preferred language"), ("63512-8", "How many family members, including yourself, do you "
                                                          "currently live with?"),
          ("71802-3", "Housing status"), ("93033-9", "Are you worried about losing your housing?"),
          ("56799-0", "Address"), ("82589-3", "Highest level of school"),
          ("67875-5", "Employment status current"), ("76513-1", "How hard is it for you to pay for the very "
                                                               "basics like food, housing, medical care, and heating?"),
          ("93030-5", "Has lack of transportation kept you from medical appointments, meetings, work, or from "
                      "getting things needed for daily living?"), ("93029-7", "How often do you see or talk to "
                                                                              "people that you care about and feel close to?"),
          ("93038-8", "Stress level"), ("93028-9", "In the past year, have you spent more than 2 nights in a row in a "
                                                   "jail, prison, detention center, or juvenile correctional facility?")]
ADJUDICATIONS = [("https://bluebutton.cms.gov/resources/variables/line_coinsrnc_amt", "Line Beneficiary Coinsurance Amount"),
                 ("https://bluebutton.cms.gov/resources/variables/line_prvdr_pmt_amt", "Line Provider Payment Amount"),
                 ("https://bluebutton.cms.gov/resources/variables/line_sbmtd_chrg_amt", "Line Submitted Charge Amount"),
                 ("https://bluebutton.cms.gov/resources/variables/line_alowd_chrg_amt", "Line Allowed Charge Amount"),
                 ("https://bluebutton.cms.gov/resources/variables/line_bene_ptb_ddctbl_amt", "Line Beneficiary Part B Deductible Amount"),
                 ("https://bluebutton.cms.gov/resources/variables/line_prcsg_ind_cd", "Line Processing Indicator Code")]
FAMILY = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
          "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin"]
GIVEN = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen"]
CITIES = [("Boston", "02108"), ("Worcester", "01601"), ("Springfield", "01103"), ("Lowell", "01850"),
          ("Cambridge", "02138"), ("New Bedford", "02740"), ("Brockton", "02301"), ("Quincy", "02169")]


def _coding(system: str, code: str, display: str) -> dict:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str) -> dict:
    return {"coding": [_coding(system, code, display)], "text": display}


def _money(value: float) -> dict:
    return {"value": round(value, 2), "currency": "USD"}


@dataclass
class Organization:
    key: str                       # Synthea identifier value (a UUID)
    name: str
    city: str
    zip: str
    location_key: str
    practitioners: list[tuple[str, str]] = field(default_factory=list)    # (NPI, "Dr. Given Family")

    def org_ref(self) -> dict:
        return {"reference": f"Organization?identifier={SYNTHEA}|{self.key}", "display": self.name}

    def loc_ref(self) -> dict:
        return {"reference": f"Location?identifier={SYNTHEA}|{self.location_key}", "display": self.name}


def practitioner_ref(npi: str, name: str) -> dict:
    return {"reference": f"Practitioner?identifier={NPI}|{npi}", "display": name}


class World:
    """The providers every patient Bundle draws from (the same for every Bundle of a run, so the
    conditional creates of a later Bundle match what an earlier one created)."""

    def __init__(self, seed: int = 1, organizations: int = 4, practitioners_each: int = 3):
        rng = random.Random(seed)
        self.organizations: list[Organization] = []
        for i in range(organizations):
            city, zip_code = CITIES[i % len(CITIES)]
            org = Organization(str(uuid.UUID(int=rng.getrandbits(128))), f"{city.upper()} HEALTH CENTER {i + 1}",
                               city, zip_code, str(uuid.UUID(int=rng.getrandbits(128))))
            for _ in range(practitioners_each):
                org.practitioners.append((f"99999{rng.randrange(10**5):05d}",
                                          f"Dr. {rng.choice(GIVEN)}{rng.randrange(100)} {rng.choice(FAMILY)}{rng.randrange(100)}"))
            self.organizations.append(org)


def _entry(resource: dict, rng: random.Random, if_none_exist: str | None = None) -> tuple[str, dict]:
    url = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    request = {"method": "POST", "url": resource["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return url, {"fullUrl": url, "resource": resource, "request": request}


def shared_entries(org: Organization, rng: random.Random) -> list[dict]:
    """The Organization, its Location and its Practitioners as conditional creates (Synthea's
    hospitalInformation / practitionerInformation entries)."""
    out = []
    _, e = _entry({
        "resourceType": "Organization",
        "meta": {"profile": [US_CORE + "us-core-organization"]},
        "extension": [{"url": "http://synthetichealth.github.io/synthea/utilization-encounters-extension",
                       "valueInteger": rng.randint(1000, 20000)}],
        "identifier": [{"system": SYNTHEA, "value": org.key}], "active": True,
        "type": [_concept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")],
        "name": org.name, "telecom": [{"system": "phone", "value": f"508{rng.randrange(10**7):07d}"}],
        "address": [{"line": [f"{rng.randint(1, 999)} MAIN STREET"], "city": org.city, "state": "MA",
                     "postalCode": org.zip, "country": "US"}]}, rng, f"identifier={SYNTHEA}|{org.key}")
    out.append(e)
    _, e = _entry({
        "resourceType": "Location", "meta": {"profile": [US_CORE + "us-core-location"]},
        "identifier": [{"system": SYNTHEA, "value": org.location_key}], "status": "active", "name": org.name,
        "telecom": [{"system": "phone", "value": f"508{rng.randrange(10**7):07d}"}],
        "address": {"line": [f"{rng.randint(1, 999)} MAIN STREET"], "city": org.city, "state": "MA",
                    "postalCode": org.zip, "country": "US"},
        "position": {"longitude": -71.0 - rng.random(), "latitude": 42.0 + rng.random()},
        "managingOrganization": org.org_ref()}, rng, f"identifier={SYNTHEA}|{org.location_key}")
    out.append(e)
    for npi, name in org.practitioners:
        given, family = name[4:].split(" ")
        _, e = _entry({
            "resourceType": "Practitioner", "meta": {"profile": [US_CORE + "us-core-practitioner"]},
            "extension": [{"url": "http://synthetichealth.github.io/synthea/utilization-encounters-extension",
                           "valueInteger": rng.randint(100, 2000)}],
            "identifier": [{"system": NPI, "value": npi}], "active": True,
            "name": [{"family": family, "given": [given], "prefix": ["Dr."]}],
            "telecom": [{"extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-direct",
                                        "valueBoolean": True}],
                         "system": "email", "value": f"{given}.{family}@example.com", "use": "work"}],
            "address": [{"line": [f"{rng.randint(1, 999)} MAIN STREET"], "city": org.city, "state": "MA",
                         "postalCode": org.zip, "country": "US"}],
            "gender": rng.choice(["male", "female"])}, rng, f"identifier={NPI}|{npi}")
        out.append(e)
    return out


def shared_bundle(world: World, seed: int = 0) -> dict:
    """Every provider of the world as one transaction of conditional creates (Synthea's own
    hospitalInformation + practitionerInformation files, uploaded before the patients)."""
    rng = random.Random(seed)
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [e for org in world.organizations for e in shared_entries(org, rng)]}


class _Patient:
    def __init__(self, rng: random.Random, url: str, name: str):
        self.rng, self.url, self.name = rng, url, name

    def ref(self) -> dict:
        return {"reference": self.url, "display": self.name}


def _patient(rng: random.Random, birth: datetime) -> dict:
    female = rng.random() < 0.5
    given, family = rng.choice(GIVEN) + str(rng.randrange(1000)), rng.choice(FAMILY) + str(rng.randrange(1000))
    city, zip_code = rng.choice(CITIES)
    ident = str(uuid.UUID(int=rng.getrandbits(128)))
    race = [("2106-3", "White"), ("2054-5", "Black or African American"), ("2028-9", "Asian")][rng.randrange(3)]

    def omb(url: str, code: str, display: str, system: str) -> dict:
        return {"url": url, "extension": [{"url": "ombCategory", "valueCoding": _coding(system, code, display)},
                                          {"url": "text", "valueString": display}]}
    return {
        "resourceType": "Patient",
        "meta": {"profile": [US_CORE + "us-core-patient"]},
        "text": {"status": "generated",
                 "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Generated by <a href=\"https://github.com/"
                        f"synthetichealth/synthea\">Synthea</a>.Version identifier: v3.0.0-like\n .   Person seed: "
                        f"{rng.getrandbits(60)}  Population seed: {rng.getrandbits(40)}</div>"},
        "extension": [
            omb(US_CORE + "us-core-race", race[0], race[1], "urn:oid:2.16.840.1.113883.6.238"),
            omb(US_CORE + "us-core-ethnicity", "2186-5", "Not Hispanic or Latino", "urn:oid:2.16.840.1.113883.6.238"),
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
             "valueString": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"},
            {"url": US_CORE + "us-core-birthsex", "valueCode": "F" if female else "M"},
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
             "valueAddress": {"city": rng.choice(CITIES)[0], "state": "Massachusetts", "country": "US"}},
            {"url": "http://synthetichealth.github.io/synthea/disability-adjusted-life-years",
             "valueDecimal": round(rng.random() * 3, 6)},
            {"url": "http://synthetichealth.github.io/synthea/quality-adjusted-life-years",
             "valueDecimal": round(rng.uniform(20, 70), 6)}],
        "identifier": [
            {"system": SYNTHEA, "value": ident},
            {"type": _concept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical Record Number"),
             "system": "http://hospital.smarthealthit.org", "value": ident},
            {"type": _concept("http://terminology.hl7.org/CodeSystem/v2-0203", "SS", "Social Security Number"),
             "system": "http://hl7.org/fhir/sid/us-ssn", "value": f"999-{rng.randrange(100):02d}-{rng.randrange(10**4):04d}"},
            {"type": _concept("http://terminology.hl7.org/CodeSystem/v2-0203", "DL", "Driver's license number"),
             "system": "urn:oid:2.16.840.1.113883.4.3.25", "value": f"S999{rng.randrange(10**5):05d}"}],
        "name": [{"use": "official", "family": family, "given": [given], "prefix": ["Mrs." if female else "Mr."]}],
        "telecom": [{"system": "phone", "value": f"555-{rng.randrange(1000):03d}-{rng.randrange(10**4):04d}",
                     "use": "home"}],
        "gender": "female" if female else "male",
        "birthDate": birth.date().isoformat(),
        "address": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/geolocation", "extension": [
                        {"url": "latitude", "valueDecimal": round(42 + rng.random(), 6)},
                        {"url": "longitude", "valueDecimal": round(-71 - rng.random(), 6)}]}],
                     "line": [f"{rng.randint(1, 999)} {rng.choice(FAMILY)} Street"], "city": city, "state": "MA",
                     "postalCode": zip_code, "country": "US"}],
        "maritalStatus": _concept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "M", "Married"),
        "multipleBirthBoolean": False,
        "communication": [{"language": _concept("urn:ietf:bcp:47", "en-US", "English (United States)")}]}


class _Encounter:
    """Writes one encounter's resources into the Bundle's entries."""

    def __init__(self, bundle: "_Builder", start: datetime):
        self.b, self.rng, self.start = bundle, bundle.rng, start
        self.org = self.rng.choice(bundle.orgs)
        self.doctor = practitioner_ref(*self.rng.choice(self.org.practitioners))
        self.code, self.display, self.cls, self.kind = self.rng.choice(ENCOUNTER_TYPES)
        hours = {"inpatient": 24 * self.rng.randint(1, 5), "emergency": 3}.get(self.kind, 0)
        self.end = start + timedelta(minutes=15 + 60 * hours)
        self.url = ""
        self.conditions: list[tuple[str, str, str]] = []       # (url, code, display)
        self.procedures: list[tuple[str, str, str]] = []
        self.immunizations: list[tuple[str, str, str]] = []

    def t(self, minutes: int = 0) -> str:
        return (self.start + timedelta(minutes=minutes)).isoformat()

    def period(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def enc(self) -> dict:
        return {"reference": self.url}

    def write(self) -> None:
        b, rng, p = self.b, self.rng, self.b.patient
        self.url = b.add({
            "resourceType": "Encounter", "meta": {"profile": [US_CORE + "us-core-encounter"]},
            "identifier": [{"use": "official", "system": SYNTHEA, "value": str(uuid.UUID(int=rng.getrandbits(128)))}],
            "status": "finished",
            "class": _coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", self.cls, self.cls),
            "type": [_concept(SCT, self.code, self.display)],
            "subject": p.ref(),
            "participant": [{"type": [_concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                               "PPRF", "primary performer")],
                             "period": self.period(), "individual": self.doctor}],
            "period": self.period(),
            "location": [{"location": self.org.loc_ref()}],
            "serviceProvider": self.org.org_ref()})
        if self.kind != "wellness" or rng.random() < 0.3:
            for _ in range(1 if rng.random() < 0.8 else 2):
                code, display = rng.choice(CONDITIONS)
                url = b.add({
                    "resourceType": "Condition",
                    "meta": {"profile": [US_CORE + "us-core-condition-encounter-diagnosis"]},
                    "clinicalStatus": _concept("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "active", "Active"),
                    "verificationStatus": _concept("http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                                   "confirmed", "Confirmed"),
                    "category": [_concept("http://terminology.hl7.org/CodeSystem/condition-category",
                                          "encounter-diagnosis", "Encounter Diagnosis")],
                    "code": _concept(SCT, code, display), "subject": p.ref(), "encounter": self.enc(),
                    "onsetDateTime": self.t(), "recordedDate": self.t()})
                self.conditions.append((url, code, display))
        self._observations()
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            code, display = rng.choice(PROCEDURES)
            reason = {"reasonReference": [{"reference": self.conditions[0][0],
                                           "display": self.conditions[0][2]}]} if self.conditions else {}
            url = b.add({
                "resourceType": "Procedure", "meta": {"profile": [US_CORE + "us-core-procedure"]},
                "status": "completed", "code": _concept(SCT, code, display), "subject": p.ref(),
                "encounter": self.enc(), "performedPeriod": {"start": self.t(5), "end": self.t(20)},
                "location": self.org.loc_ref(), **reason})
            self.procedures.append((url, code, display))
        if self.kind == "wellness":
            for _ in range(rng.choice((0, 0, 1, 2))):
                code, display = rng.choice(VACCINES)
                url = b.add({
                    "resourceType": "Immunization", "meta": {"profile": [US_CORE + "us-core-immunization"]},
                    "status": "completed", "vaccineCode": {"coding": [_coding(CVX, code, display)], "text": display},
                    "patient": p.ref(), "encounter": self.enc(), "occurrenceDateTime": self.t(10),
                    "primarySource": True, "location": self.org.loc_ref()})
                self.immunizations.append((url, code, display))
        self._note()
        if self.conditions and rng.random() < 0.12:
            self._care_plan()
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            self._medication()
        claim = self._claim(self.items(), None)
        self._eob(claim, self.items())

    def items(self) -> list[tuple[str, str, str, str]]:
        """(kind, url, code, display): what the encounter's Claim bills."""
        return ([("encounter", self.url, self.code, self.display)]
                + [("diagnosis", u, c, d) for u, c, d in self.conditions]
                + [("procedure", u, c, d) for u, c, d in self.procedures]
                + [("immunization", u, c, d) for u, c, d in self.immunizations])

    def _obs(self, code: str, display: str, category: str, value: dict, minutes: int = 0) -> str:
        b = self.b
        profile = "us-core-vital-signs" if category == "vital-signs" else "us-core-observation-lab"
        return b.add({
            "resourceType": "Observation", "meta": {"profile": [US_CORE + profile]},
            "status": "final", "category": [_concept(OBS_CAT, category, category.replace("-", " ").title())],
            "code": {"coding": [_coding(LOINC, code, display)], "text": display},
            "subject": b.patient.ref(), "encounter": self.enc(),
            "effectiveDateTime": self.t(minutes), "issued": self.t(minutes), **value})

    def _observations(self) -> None:
        rng = self.rng
        if self.kind in ("wellness", "ambulatory") or rng.random() < 0.5:
            for code, display, unit, lo, hi in VITALS:
                self._obs(code, display, "vital-signs",
                          {"valueQuantity": {"value": round(rng.uniform(lo, hi), 1), "unit": unit, "system": UCUM,
                                             "code": unit}})
            self._obs("85354-9", "Blood pressure panel with all children optional", "vital-signs", {"component": [
                {"code": {"coding": [_coding(LOINC, "8462-4", "Diastolic Blood Pressure")],
                          "text": "Diastolic Blood Pressure"},
                 "valueQuantity": {"value": rng.randint(60, 95), "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}},
                {"code": {"coding": [_coding(LOINC, "8480-6", "Systolic Blood Pressure")],
                          "text": "Systolic Blood Pressure"},
                 "valueQuantity": {"value": rng.randint(100, 150), "unit": "mm[Hg]", "system": UCUM,
                                   "code": "mm[Hg]"}}]})
            self._obs("72166-2", "Tobacco smoking status", "social-history",
                      {"valueCodeableConcept": _concept(SCT, "266919005", "Never smoked tobacco (finding)")})
        if self.kind == "wellness" or rng.random() < 0.3:
            for panel_code, panel_display, tests in rng.sample(PANELS, rng.choice((1, 1, 2))):
                results = [{"reference": self._obs(code, display, "laboratory", {"valueQuantity": {
                    "value": round(rng.uniform(lo, hi), 1), "unit": unit, "system": UCUM, "code": unit}}, 30),
                    "display": display} for code, display, unit, lo, hi in tests]
                self.b.add({
                    "resourceType": "DiagnosticReport", "meta": {"profile": [US_CORE + "us-core-diagnosticreport-lab"]},
                    "status": "final",
                    "category": [_concept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")],
                    "code": _concept(LOINC, panel_code, panel_display), "subject": self.b.patient.ref(),
                    "encounter": self.enc(), "effectiveDateTime": self.t(30), "issued": self.t(30),
                    "performer": [self.org.org_ref()], "result": results})
        if self.kind == "wellness" and rng.random() < 0.5:
            # A social-history survey (PRAPARE-like): one Observation, a component per question.
            self._obs("93025-5", "Protocol for Responding to and Assessing Patients' Assets, Risks, and "
                                 "Experiences [PRAPARE]", "survey", {"component": [
                {"code": {"coding": [_coding(LOINC, code, question)], "text": question},
                 "valueCodeableConcept": _concept(LOINC, f"LA{rng.randrange(10**5)}-{rng.randrange(10)}",
                                                  rng.choice(["No", "Yes", "I choose not to answer this question",
                                                              "Unemployed", "High school diploma or GED"]))}
                for code, question in SURVEY]})

    def _note(self) -> None:
        rng, b = self.rng, self.b
        lines = [f"{self.start.date().isoformat()}", "", f"# Chief Complaint", "No complaints.", "",
                 "# History of Present Illness", f"{b.patient.name} is a patient seen for {self.display}.", "",
                 "# Social History", "Patient has never smoked. Patient identifies as heterosexual.", "",
                 "# Allergies", "No Known Allergies.", "", "# Medications", "None.", "",
                 "# Assessment and Plan"] + [f"Patient is presenting with {d}." for _, _, d in self.conditions] + \
                ["", "## Plan", ""] + [f"The patient was given the following procedure: {d}."
                                       for _, _, d in self.procedures] + \
                [f"The patient was given the following immunization: {d}." for _, _, d in self.immunizations]
        text = "\n".join(lines) + "\n" + "Follow-up as needed. " * rng.randint(5, 30)
        data = base64.b64encode(text.encode()).decode()
        note_code = _concept(LOINC, "34117-2", "History and physical note")
        b.add({"resourceType": "DiagnosticReport", "meta": {"profile": [US_CORE + "us-core-diagnosticreport-note"]},
               "status": "final", "category": [_concept(LOINC, "34117-2", "History and physical note"),
                                               _concept(LOINC, "51847-2", "Evaluation + Plan note")],
               "code": note_code, "subject": b.patient.ref(), "encounter": self.enc(),
               "effectiveDateTime": self.t(), "issued": self.t(), "performer": [self.doctor],
               "presentedForm": [{"contentType": "text/plain; charset=utf-8", "data": data}]})
        b.add({"resourceType": "DocumentReference", "meta": {"profile": [US_CORE + "us-core-documentreference"]},
               "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}"}],
               "status": "current", "type": {"coding": [_coding(LOINC, "34117-2", "History and physical note"),
                                                        _coding(LOINC, "51847-2", "Evaluation + Plan note")]},
               "category": [_concept("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                                     "clinical-note", "Clinical Note")],
               "subject": b.patient.ref(), "date": self.t(), "author": [self.doctor], "custodian": self.org.org_ref(),
               "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": data},
                            "format": _coding("http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem",
                                              "urn:ihe:iti:xds:2017:mimeTypeSufficient", "mimeType Sufficient")}],
               "context": {"encounter": [self.enc()], "period": self.period()}})

    def _care_plan(self) -> None:
        b, rng = self.b, self.rng
        cond_url, _, cond_display = self.conditions[0]
        goal = b.add({"resourceType": "Goal", "lifecycleStatus": "accepted",
                      "description": {"text": f"Address {cond_display}"}, "subject": b.patient.ref(),
                      "addresses": [{"reference": cond_url}]})
        team = b.add({
            "resourceType": "CareTeam", "meta": {"profile": [US_CORE + "us-core-careteam"]}, "status": "active",
            "subject": b.patient.ref(), "encounter": self.enc(), "period": {"start": self.t()},
            "participant": [
                {"role": [_concept(SCT, "116154003", "Patient")], "member": b.patient.ref()},
                {"role": [_concept(SCT, "223366009", "Healthcare professional (occupation)")], "member": self.doctor},
                {"role": [_concept(SCT, "224891009", "Healthcare services (qualifier value)")],
                 "member": self.org.org_ref()}],
            "reasonCode": [_concept(SCT, self.conditions[0][1], cond_display)],
            "managingOrganization": [self.org.org_ref()]})
        activities = ["Recommendation to avoid exercise", "Deep breathing and coughing exercises",
                      "Stress management", "Healthy diet"][: rng.randint(2, 4)]
        b.add({
            "resourceType": "CarePlan", "meta": {"profile": [US_CORE + "us-core-careplan"]},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Care Plan for "
                     f"{cond_display}.<br/>Activities: <ul>" + "".join(f"<li>{a}</li>" for a in activities)
                     + f"</ul><br/>Care plan is meant to treat {cond_display}.</div>"},
            "status": "active", "intent": "order",
            "category": [{"coding": [_coding("http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
                                             "assess-plan", "Assessment and Plan of Treatment")]}],
            "subject": b.patient.ref(), "encounter": self.enc(), "period": {"start": self.t()},
            "careTeam": [{"reference": team}], "addresses": [{"reference": cond_url}], "goal": [{"reference": goal}],
            "activity": [{"detail": {"code": {"text": a}, "status": "in-progress",
                                     "location": self.org.loc_ref()}} for a in activities]})

    def _medication(self) -> None:
        b, rng = self.b, self.rng
        code, display = rng.choice(MEDICATIONS)
        reason = ({"reasonReference": [{"reference": self.conditions[0][0], "display": self.conditions[0][2]}]}
                  if self.conditions else {})
        url = b.add({
            "resourceType": "MedicationRequest", "meta": {"profile": [US_CORE + "us-core-medicationrequest"]},
            "status": "stopped", "intent": "order",
            "category": [_concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                                  "community", "Community")],
            "medicationCodeableConcept": _concept(RXNORM, code, display), "subject": b.patient.ref(),
            "encounter": self.enc(), "authoredOn": self.t(), "requester": self.doctor, **reason,
            "dosageInstruction": [{"sequence": 1, "text": "Take as directed",
                                   "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                                   "asNeededBoolean": False,
                                   "doseAndRate": [{"type": _concept("http://terminology.hl7.org/CodeSystem/dose-rate-type",
                                                                     "ordered", "Ordered"),
                                                    "doseQuantity": {"value": 1}}]}]})
        items = [("medication", url, code, display)]
        claim = self._claim(items, url)
        self._eob(claim, items)

    def _claim(self, items: list[tuple[str, str, str, str]], prescription: str | None) -> str:
        b, rng = self.b, self.rng
        diagnoses = [u for kind, u, _, _ in items if kind == "diagnosis"]
        procedures = [u for kind, u, _, _ in items if kind == "procedure"]
        claim_items = []
        for n, (kind, url, code, display) in enumerate(items, start=1):
            item: dict = {"sequence": n, "productOrService": _concept(CVX if kind == "immunization" else
                                                                      RXNORM if kind == "medication" else SCT,
                                                                      code, display)}
            if kind == "encounter":
                item["encounter"] = [{"reference": url}]
            elif kind == "diagnosis":
                item["diagnosisSequence"] = [diagnoses.index(url) + 1]
            elif kind == "procedure":
                item["procedureSequence"] = [procedures.index(url) + 1]
            if kind != "diagnosis":
                item["net"] = _money(rng.uniform(50, 1500))
            claim_items.append(item)
        claim = {
            "resourceType": "Claim", "status": "active",
            "type": _concept("http://terminology.hl7.org/CodeSystem/claim-type",
                             "pharmacy" if prescription else "institutional", "Pharmacy" if prescription else "Institutional"),
            "use": "claim", "patient": b.patient.ref(), "billablePeriod": self.period(), "created": self.end.isoformat(),
            "provider": self.org.org_ref(),
            "priority": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal")]},
            "facility": self.org.loc_ref(),
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": b.payer}}],
            "item": claim_items,
            "total": _money(sum(i.get("net", {}).get("value", 0) for i in claim_items))}
        if prescription:
            claim["prescription"] = {"reference": prescription}
        if diagnoses:
            claim["diagnosis"] = [{"sequence": i, "diagnosisReference": {"reference": u}}
                                  for i, u in enumerate(diagnoses, start=1)]
        if procedures:
            claim["procedure"] = [{"sequence": i, "procedureReference": {"reference": u}}
                                  for i, u in enumerate(procedures, start=1)]
        return b.add(claim)

    def _eob(self, claim_url: str, items: list[tuple[str, str, str, str]]) -> None:
        b, rng = self.b, self.rng
        diagnoses = [u for kind, u, _, _ in items if kind == "diagnosis"]
        eob_items, total = [], 0.0
        for n, (kind, url, code, display) in enumerate(items, start=1):
            net = round(rng.uniform(50, 1500), 2)
            total += net
            item = {
                "sequence": n,
                "category": _concept("https://bluebutton.cms.gov/resources/variables/line_cms_type_srvc_cd", "1",
                                     "Medical care"),
                "productOrService": _concept(CVX if kind == "immunization" else RXNORM if kind == "medication" else SCT,
                                             code, display),
                "servicedPeriod": self.period(),
                "locationCodeableConcept": _concept("http://terminology.hl7.org/CodeSystem/ex-serviceplace", "19",
                                                    "Off Campus-Outpatient Hospital"),
                "encounter": [self.enc()], "net": _money(net),
                "adjudication": [{"category": {"coding": [_coding("https://bluebutton.cms.gov/resources/codesystem/"
                                                                  "adjudication", c, d)]},
                                  "amount": _money(net * rng.random())} for c, d in ADJUDICATIONS]}
            if kind == "diagnosis":
                item["diagnosisSequence"] = [diagnoses.index(url) + 1]
            eob_items.append(item)
        eob = {
            "resourceType": "ExplanationOfBenefit",
            "contained": [
                {"resourceType": "ServiceRequest", "id": "referral", "status": "completed", "intent": "order",
                 "subject": {"reference": b.patient.url}, "requester": {"reference": self.doctor["reference"]},
                 "performer": [{"reference": self.doctor["reference"]}]},
                {"resourceType": "Coverage", "id": "coverage", "status": "active", "type": {"text": b.payer},
                 "beneficiary": {"reference": b.patient.url}, "payor": [{"display": b.payer}]}],
            "identifier": [{"system": "https://bluebutton.cms.gov/resources/variables/clm_id",
                            "value": str(uuid.UUID(int=rng.getrandbits(128)))},
                           {"system": "https://bluebutton.cms.gov/resources/identifier/claim-group",
                            "value": f"{rng.randrange(10**11)}"}],
            "status": "active",
            "type": _concept("http://terminology.hl7.org/CodeSystem/claim-type", "institutional", "Institutional"),
            "use": "claim", "patient": b.patient.ref(), "billablePeriod": self.period(),
            "created": self.end.isoformat(), "insurer": {"display": b.payer}, "provider": self.doctor,
            "referral": {"reference": "#referral"}, "facility": self.org.loc_ref(),
            "claim": {"reference": claim_url}, "outcome": "complete",
            "careTeam": [{"sequence": 1, "provider": self.doctor,
                          "role": _concept("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary",
                                           "Primary provider")}],
            "insurance": [{"focal": True, "coverage": {"reference": "#coverage", "display": b.payer}}],
            "item": eob_items,
            "total": [{"category": _concept("http://terminology.hl7.org/CodeSystem/adjudication", "submitted",
                                            "Submitted Amount"), "amount": _money(total)}],
            "payment": {"amount": _money(total * 0.8)}}
        if diagnoses:
            eob["diagnosis"] = [{"sequence": i, "diagnosisReference": {"reference": u},
                                 "type": [_concept("http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                                   "principal", "Principal")]}
                                for i, u in enumerate(diagnoses, start=1)]
        b.add(eob)


class _Builder:
    def __init__(self, world: World, rng: random.Random, inline_shared: bool):
        self.rng = rng
        self.entries: list[dict] = []
        self.orgs = rng.sample(world.organizations, min(2, len(world.organizations)))
        if inline_shared:
            for org in self.orgs:
                self.entries += shared_entries(org, rng)
        self.payer = rng.choice(["Medicaid", "Medicare", "Blue Cross Blue Shield", "NO_INSURANCE"])
        self.patient: _Patient

    def add(self, resource: dict) -> str:
        url, entry = _entry(resource, self.rng)
        self.entries.append(entry)
        return url


def patient_bundle(world: World, entries: int = 500, seed: int = 0, inline_shared: bool = True,
                   now: datetime | None = None) -> dict:
    """One patient's transaction Bundle of about `entries` entries (at least the patient's own
    resources; the last encounter may overshoot by a few dozen)."""
    rng = random.Random(seed)
    now = now or datetime(2026, 11, 1, 9, 0, tzinfo=TZ)
    b = _Builder(world, rng, inline_shared)
    birth = now - timedelta(days=rng.randint(20 * 365, 85 * 365))
    resource = _patient(rng, birth)
    url = b.add(resource)
    name = f"{resource['name'][0]['prefix'][0]} {resource['name'][0]['given'][0]} {resource['name'][0]['family']}"
    b.patient = _Patient(rng, url, name)
    if rng.random() < 0.3:
        b.add({"resourceType": "AllergyIntolerance",
               "clinicalStatus": _concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                          "active", "Active"),
               "verificationStatus": _concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                                              "confirmed", "Confirmed"),
               "type": "allergy", "category": ["environment"], "criticality": "low",
               "code": _concept(SCT, "419199007", "Allergy to substance (finding)"), "patient": b.patient.ref(),
               "recordedDate": birth.isoformat()})
    # Encounters from the oldest to the newest, until the Bundle is about the size asked for.
    estimate = 28       # entries per encounter, about
    count = max(1, (entries - len(b.entries) - 1) // estimate)
    span = (now - birth).days - 365 * 18
    day = now - timedelta(days=span)
    step = max(1, span // (count + 1))
    while len(b.entries) < entries - 1:
        day += timedelta(days=rng.randint(max(1, step // 2), max(2, step * 3 // 2)))
        if day > now:
            day = now - timedelta(days=rng.randint(1, 30))
        start = day.replace(hour=rng.randint(7, 17), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
        _Encounter(b, start).write()
    provenance_targets = [{"reference": e["fullUrl"]} for e in b.entries
                          if e["resource"]["resourceType"] not in ("Organization", "Location", "Practitioner")]
    org = b.orgs[0]
    doctor = practitioner_ref(*org.practitioners[0])
    agent_type = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
    b.add({"resourceType": "Provenance", "meta": {"profile": [US_CORE + "us-core-provenance"]},
           "target": provenance_targets, "recorded": now.isoformat(timespec="milliseconds"),
           "agent": [{"type": _concept(agent_type, "author", "Author"), "who": doctor, "onBehalfOf": org.org_ref()},
                     {"type": _concept(agent_type, "transmitter", "Transmitter"), "who": doctor,
                      "onBehalfOf": org.org_ref()}]})
    return {"resourceType": "Bundle", "type": "transaction", "entry": b.entries}


def bundle_sizes(count: int, low: int = 100, high: int = 4000, seed: int = 0) -> list[int]:
    """Entry counts for `count` Bundles between low and high, log-uniform, the largest included
    (placed in the middle of the run, not first: the database has some content by then)."""
    if count <= 0:
        return []
    rng = random.Random(seed)
    sizes = [round(low * (high / low) ** rng.random()) for _ in range(count - 1)]
    sizes.insert(count // 2, high)
    return sizes


def describe(bundle: dict) -> str:
    import json
    counts: dict[str, list[int]] = {}
    for e in bundle["entry"]:
        counts.setdefault(e["resource"]["resourceType"], []).append(len(json.dumps(e["resource"])))
    total = len(bundle["entry"])
    lines = [f"{total} entries, {len(json.dumps(bundle)) / 1e6:.1f} MB of JSON"]
    for t, sizes in sorted(counts.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"  {t:<24} {len(sizes):5}  {100 * len(sizes) / total:5.1f} %   avg {sum(sizes) / len(sizes):7.0f} B")
    refs = sum(json.dumps(e["resource"]).count('"reference"') for e in bundle["entry"])
    conditional = sum(json.dumps(e["resource"]).count('?identifier=') for e in bundle["entry"])
    lines.append(f"  references {refs} ({refs / total:.1f} per entry), conditional {conditional}")
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description="Synthea-shaped transaction Bundles")
    parser.add_argument("--describe", type=int, default=1000, metavar="ENTRIES")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(describe(patient_bundle(World(), args.describe, args.seed)))
