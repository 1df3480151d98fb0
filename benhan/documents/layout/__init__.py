"""The declarative layout engine of the MoH forms: a form is data (model.py) — boxes, fields and the
source of each field's value — drawn like the paper by one renderer (render.py)."""
