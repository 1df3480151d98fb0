"""A SoftHSM2 token standing in for a clinician's USB token: initialised with softhsm2-util, a key
pair generated ON the token (the private key never leaves it), the certificate for that key issued
by the local CA and stored beside it — the state a Vietnamese CA hands a doctor their token in."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import Encoding

from benhan.signing.local_ca import Issued, LocalCA

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                     "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so")
USER_PIN = "123456"
SO_PIN = "12345678"


def softhsm_module() -> str:
    for candidate in MODULE_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    message = "SoftHSM2 is not installed (apt-get install softhsm2; scripts/test does it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " — CI=true: a missing token stand-in fails the run")
    pytest.skip(message)


def init_softhsm(directory: Path) -> str:
    """A SoftHSM2 configuration with its tokens under `directory`, made current for this process
    (SOFTHSM2_CONF is read when the module is first loaded); the module's path."""
    module = softhsm_module()
    if shutil.which("softhsm2-util") is None:
        pytest.skip("softhsm2-util not found")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return module


def make_token(module: str, label: str, ca: LocalCA, holder: str, uid: str) -> Issued:
    """A token `label` with a key pair and its certificate (both labelled 'signing'), PIN USER_PIN."""
    import pkcs11
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", USER_PIN,
                    "--so-pin", SO_PIN], check=True, capture_output=True, env=os.environ.copy())
    lib = pkcs11.lib(module)
    lib.reinitialize()            # see the token just made by the other process
    token = lib.get_token(token_label=label)
    with token.open(rw=True, user_pin=USER_PIN) as session:
        public, _ = session.generate_keypair(KeyType.RSA, 2048, label="signing", id=b"\x01", store=True)
        numbers = RSAPublicNumbers(int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                                   int.from_bytes(public[Attribute.MODULUS], "big"))
        issued = ca.issue(holder, uid=uid, public_key=numbers.public_key())
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True, Attribute.LABEL: "signing", Attribute.ID: b"\x01",
            Attribute.SUBJECT: issued.cert.subject.public_bytes(),
            Attribute.VALUE: issued.cert.public_bytes(Encoding.DER)})
    return issued
