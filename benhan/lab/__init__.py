"""The laboratory's analysers: results arriving over HL7 v2 (ORU^R01 over MLLP), see docs/lab.md."""
