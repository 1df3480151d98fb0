"""Synthetic Vietnamese patients and their records, deterministic from a seed (issue 5 item 4).

people.py makes the person (name, CCCD, BHYT card, address, phone); care.py and inpatient.py the
record (visits, vital signs, diagnoses, lab results, prescriptions, inpatient stays with daily
notes); generator.py puts one patient together from its own random stream; bulk.py writes many
patients through the store's batched writer.
"""
