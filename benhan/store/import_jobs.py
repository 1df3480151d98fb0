"""Import jobs of `POST /fhir/$import` (docs/fhir-api.md "$import"): where their inputs may come
from and where their state is kept.

Inputs are files under the import folder, `<data_dir>/import` (an IT person copies an export
there), named by a relative path or a `file:` URL inside it — never any other local path, so
that an API call cannot make the server read /etc/passwd or its own database. URLs of other
schemes are refused (http(s) inputs are not built).

A job's state is a folder `<data_dir>/import-jobs/<id>/` holding `job.json` (who asked, the
inputs, the state) and, once done, `report.json` (ImportReport.as_json). Files, not tables: the
schema has no table for it, and several worker processes of one server share the data folder.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from benhan import errors

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def import_folder(data_dir: Path) -> Path:
    return Path(data_dir) / "import"


def jobs_folder(data_dir: Path) -> Path:
    return Path(data_dir) / "import-jobs"


def resolve_input(data_dir: Path, url: str) -> Path:
    """The file an input URL names, refused unless it lies inside the import folder."""
    root = import_folder(data_dir).resolve()
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        raise errors.ImportUnreadable(f"{url}: http(s) inputs are not accepted; copy the files into {root}")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise errors.ImportUnreadable(f"{url}: a file URL on another host")
        candidate = Path(unquote(parts.path))
    elif parts.scheme:
        raise errors.ImportUnreadable(f"{url}: unknown URL scheme {parts.scheme!r}")
    else:
        candidate = root / unquote(url)
    path = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not path.is_relative_to(root):
        raise errors.ImportUnreadable(f"{url}: outside the import folder {root}")
    if not path.is_file():
        raise errors.ImportUnreadable(f"{url}: no such file in the import folder")
    return path


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    os.replace(tmp, path)          # a reader sees the old state or the new one, never half a file


def create(data_dir: Path, owner: str, request_url: str, inputs: list[dict]) -> str:
    job_id = uuid.uuid4().hex
    folder = jobs_folder(data_dir) / job_id
    folder.mkdir(parents=True, mode=0o700)
    _write_json(folder / "job.json", {"id": job_id, "owner": owner, "request": request_url, "inputs": inputs,
                                      "state": QUEUED, "created": time.time(), "progress": None})
    return job_id


def load(data_dir: Path, job_id: str) -> dict:
    if not job_id.isalnum():
        raise errors.NotFound(f"no import job {job_id!r}")
    try:
        return json.loads((jobs_folder(data_dir) / job_id / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise errors.NotFound(f"no import job {job_id!r}") from None


def update(data_dir: Path, job_id: str, **changes) -> dict:  # noqa: ANN003
    job = load(data_dir, job_id)
    job.update(changes)
    _write_json(jobs_folder(data_dir) / job_id / "job.json", job)
    return job


def save_report(data_dir: Path, job_id: str, report: dict) -> None:
    _write_json(jobs_folder(data_dir) / job_id / "report.json", report)


def report(data_dir: Path, job_id: str) -> dict:
    return json.loads((jobs_folder(data_dir) / job_id / "report.json").read_text(encoding="utf-8"))
