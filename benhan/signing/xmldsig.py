"""XML signatures (XMLDSig, enveloped, RSA-SHA256 with SHA-256 digests, exclusive C14N) for the
files benhan sends to government gateways: the BHYT claim envelope carries the facility's signature
in an element the caller names (``CHUKYDONVI``), with the certificate in ``KeyInfo`` so the
receiver can check it against the certificate the facility registered.

This is the only module that imports signxml (tests/test_architecture.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature

from benhan import errors

DS = "http://www.w3.org/2000/09/xmldsig#"


@dataclass(frozen=True)
class XmlKey:
    """A private key (loaded once: parsing and checking an RSA key costs ~100 ms, more than the
    signature) and its certificate (PEM)."""
    private_key: PrivateKeyTypes
    cert_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def key_from_pkcs12(data: bytes, password: str) -> XmlKey:
    """The facility seal's key from its PKCS#12 file (facility_seal_file)."""
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(data, password.encode())
    except (ValueError, TypeError) as exc:
        raise errors.SigningKeyUnavailable(f"không mở được tệp PKCS#12 (sai mật khẩu?) | the PKCS#12 file could not "
                                           f"be opened (wrong password?): {exc}") from None
    if key is None or cert is None:
        raise errors.SigningKeyUnavailable("tệp PKCS#12 không có chứng thư và khóa | the PKCS#12 file holds no "
                                           "certificate and key")
    return XmlKey(key, cert.public_bytes(serialization.Encoding.PEM))


def sign_into(document: bytes, holder_tag: str, key: XmlKey) -> bytes:
    """Sign the whole document (enveloped) and put the ds:Signature inside its last ``holder_tag``
    element (created at the end of the root if absent)."""
    root = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    holder = root.find(holder_tag)
    if holder is None:
        holder = etree.SubElement(root, holder_tag)
    for child in list(holder):
        holder.remove(child)
    # signxml replaces an empty ds:Signature with Id="placeholder" wherever it stands.
    etree.SubElement(holder, f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
    signer = XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256,
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    signed = signer.sign(root, key=key.private_key, cert=key.cert_pem)
    return etree.tostring(signed, xml_declaration=True, encoding="utf-8")


def verify(document: bytes, cert_pem: bytes | None = None) -> x509.Certificate:
    """Check the document's enveloped signature; against ``cert_pem`` when given (the certificate
    the signer registered), else against the certificate in KeyInfo (integrity only). The signing
    certificate; SignatureInvalid when there is none, or the document changed after signing."""
    try:
        if cert_pem is None:
            root = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))
            node = root.find(f".//{{{DS}}}X509Certificate")
            if node is None or not (node.text or "").strip():
                raise errors.SignatureInvalid("chữ ký không có chứng thư số | the signature carries no certificate")
            cert_pem = ("-----BEGIN CERTIFICATE-----\n" + "".join(node.text.split())
                        + "\n-----END CERTIFICATE-----\n").encode()
        XMLVerifier().verify(document, x509_cert=cert_pem.decode(), expect_references=1)
    except (InvalidSignature, InvalidInput, etree.XMLSyntaxError) as exc:
        raise errors.SignatureInvalid(f"chữ ký XML không hợp lệ | the XML signature does not verify: {exc}") from None
    return x509.load_pem_x509_certificate(cert_pem)


def sign_part(document: bytes, part_id: str, holder_path: str, key: XmlKey) -> bytes:
    """Sign one element of the document, the one whose ``Id`` is ``part_id`` (a reference
    ``#part_id``, not the whole file: the e-invoice signs ``DLHDon`` and leaves room for the tax
    authority's code next to it), and put the ds:Signature in the element at ``holder_path``
    ("DSCKS/NBan"), creating the missing steps of that path under the root."""
    root = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    if not root.xpath("//*[@Id=$id]", id=part_id):
        raise errors.SignatureInvalid(f"không có phần tử Id={part_id} để ký | no element with Id={part_id} to sign")
    holder = root
    for step in holder_path.split("/"):
        found = holder.find(step)
        holder = found if found is not None else etree.SubElement(holder, step)
    for child in list(holder):
        holder.remove(child)
    etree.SubElement(holder, f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
    signer = XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256,
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    signed = signer.sign(root, key=key.private_key, cert=key.cert_pem, reference_uri=f"#{part_id}",
                         id_attribute="Id")
    return etree.tostring(signed, xml_declaration=True, encoding="utf-8")


def verify_part(document: bytes, part_id: str, cert_pem: bytes | None = None) -> x509.Certificate:
    """Check a signature made by ``sign_part``: it verifies (against ``cert_pem`` when given, else the
    certificate in KeyInfo) and what it covers is exactly the element ``Id=part_id`` — a valid
    signature over some other element proves nothing about this one."""
    try:
        if cert_pem is None:
            root = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))
            node = root.find(f".//{{{DS}}}X509Certificate")
            if node is None or not (node.text or "").strip():
                raise errors.SignatureInvalid("chữ ký không có chứng thư số | the signature carries no certificate")
            cert_pem = ("-----BEGIN CERTIFICATE-----\n" + "".join(node.text.split())
                        + "\n-----END CERTIFICATE-----\n").encode()
        result = XMLVerifier().verify(document, x509_cert=cert_pem.decode(), expect_references=1, id_attribute="Id")
    except (InvalidSignature, InvalidInput, etree.XMLSyntaxError) as exc:
        raise errors.SignatureInvalid(f"chữ ký XML không hợp lệ | the XML signature does not verify: {exc}") from None
    covered = result.signed_xml if not isinstance(result, list) else result[0].signed_xml
    if covered is None or covered.get("Id") != part_id:
        raise errors.SignatureInvalid(f"chữ ký không phủ phần tử Id={part_id} | the signature does not cover "
                                      f"the element Id={part_id}")
    return x509.load_pem_x509_certificate(cert_pem)
