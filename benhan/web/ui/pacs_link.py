"""`pacs_url(order, report)` for the visit page: the PACS viewer link of an imaging result when the
`pacs_viewer_url` setting is set (benhan/lab/pacs.py builds and checks it; Jinja escapes it)."""
from __future__ import annotations

import jinja2

from benhan.clinical import orders
from benhan.lab import pacs


@jinja2.pass_context
def pacs_url(ctx: jinja2.runtime.Context, order: dict, report: dict | None) -> str | None:
    if orders.kind_of(order) != "imaging" or not report:
        return None
    template = ctx["request"].app.state.store.config.values.get("pacs_viewer_url", "")
    return pacs.viewer_url(template, order.get("id", ""), pacs.study_uid(report))


def install(env: jinja2.Environment) -> None:
    env.globals["pacs_url"] = pacs_url
