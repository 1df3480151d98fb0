"""The CV 365 `HoSoBenhAn` (III.1.1d): the field table (fields.py), the XSD and JSON Schema made
from it (schema.py, hosobenhan.xsd, hosobenhan.schema.json), one episode as a tree (record.py), the
export of an episode, a patient or a period as XML or JSON (export.py) and its audit (audit.py).
docs/hosobenhan.md."""
