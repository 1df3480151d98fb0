"""Shared by the e-invoice tests: the facility's seal (a local CA's certificate), the settings, and
the stand-in provider on a free port."""
from __future__ import annotations

from benhan.billing.einvoice.model import Party
from benhan.billing.einvoice.service import Settings
from benhan.billing.einvoice.standin import StandIn, State
from benhan.signing import xmldsig
from benhan.signing.local_ca import LocalCA

SELLER_MST = "0101234567"
USER, PASSWORD = "bv-thu", "mat-khau-hd"
_KEYS: dict[str, xmldsig.XmlKey] = {}


def seal(name: str = "Bệnh viện Đa khoa Thử nghiệm") -> xmldsig.XmlKey:
    if name not in _KEYS:
        issued = LocalCA("http://127.0.0.1:9").issue(name, organization=name)
        _KEYS[name] = xmldsig.key_from_pkcs12(issued.pkcs12("pw"), "pw")
    return _KEYS[name]


def settings(daily: bool = False) -> Settings:
    return Settings(seller=Party("Trung tâm Y tế Ba Vì", tax_code=SELLER_MST, address="Tòng Bạt, Ba Vì, Hà Nội"),
                    series="CTBV", template="2", vat="KCT", provider_tax_code="0100109106", daily=daily,
                    bhxh=Party("Bảo hiểm xã hội thành phố Hà Nội", tax_code="0100112344"))


def standin() -> StandIn:
    return StandIn(State(USER, PASSWORD, SELLER_MST, cert_pem=seal().cert_pem)).start()
