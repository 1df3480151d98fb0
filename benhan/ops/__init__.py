"""Running a facility's installation: `benhan doctor` and the health page (doctor.py).

Sits above store, audit, sync, outbox and signing: it reads what each of them keeps and says, in
plain Vietnamese and English, what is wrong and how to fix it. No web, no CLI here.
"""
