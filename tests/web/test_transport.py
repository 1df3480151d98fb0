"""Transport security: security headers on every response, CORS for the FHIR API only, HTTPS from
a self-signed certificate, and no secret in the server's logs.

The API is gaining authentication while these tests are written; requests to /fhir here may get
200 or 401, and nothing below depends on which (headers and logs must be right either way).
"""
from __future__ import annotations

import hashlib
import logging
import os
import ssl
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from benhan import errors
from benhan.web.app import create_app
from benhan.web.cors import parse_origins
from benhan.web.log_redaction import RedactSecrets, redact
from benhan.web.security_headers import SecurityHeaders
from tests.server_process import benhan_command, free_port, run_benhan, spawn, terminate

APP_ORIGIN = "https://app.example.vn"
EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get(name) == value, (name, response.headers)
    csp = response.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                      "form-action 'self'", "base-uri 'none'", "object-src 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in response.headers["permissions-policy"]


# --- security headers --------------------------------------------------------------------------

def test_fhir_json_responses_carry_the_security_headers_and_no_hsts_over_http(client):
    r = client.get("/fhir/metadata", headers={"Accept": "application/fhir+json"})
    assert r.status_code == 200 and r.json()["resourceType"] == "CapabilityStatement"
    assert_security_headers(r)
    assert "strict-transport-security" not in r.headers


def test_html_pages_carry_the_security_headers(client):
    r = client.get("/")
    assert r.headers["content-type"].startswith("text/html")
    assert_security_headers(r)


def test_error_responses_carry_the_security_headers(client):
    r = client.get("/no/such/endpoint", follow_redirects=False)
    assert r.status_code in (303, 404)   # 303 to the login page once the UI requires a login
    assert_security_headers(r)
    r = client.get("/fhir/NoSuchType/1")
    assert r.status_code in (401, 404) and r.json()["resourceType"] == "OperationOutcome"
    assert_security_headers(r)


def test_hsts_is_sent_when_the_request_came_over_tls(store):
    with TestClient(create_app(store.config, store), base_url="https://testserver",
                    raise_server_exceptions=False) as https_client:
        r = https_client.get("/fhir/metadata")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert_security_headers(r)


def tiny_app(cache_control: str) -> TestClient:
    async def page(request):  # noqa: ANN001, ANN202
        return PlainTextResponse("x", headers={"Cache-Control": cache_control,
                                               "Content-Security-Policy": "default-src 'none'"})
    app = Starlette(routes=[Route("/static/app.css", page), Route("/fhir/Patient/1", page)])
    app.add_middleware(SecurityHeaders)
    return TestClient(app)


def test_no_handler_can_let_patient_data_be_cached_but_static_files_keep_their_caching():
    with tiny_app("max-age=3600") as c:
        assert c.get("/fhir/Patient/1").headers.get_list("cache-control") == ["no-store"]
        static = c.get("/static/app.css")
    assert static.headers.get_list("cache-control") == ["max-age=3600"]
    # A handler's own policy is kept (one header, not two contradicting ones).
    assert static.headers.get_list("content-security-policy") == ["default-src 'none'"]
    assert static.headers["x-content-type-options"] == "nosniff"


# --- CORS --------------------------------------------------------------------------------------

@pytest.fixture
def cors_client(store) -> Iterator[TestClient]:  # noqa: ANN001
    config = store.config.replace(cors_origins=f"{APP_ORIGIN}/, https://other-app.example.vn")
    with TestClient(create_app(config, store), raise_server_exceptions=False) as c:
        yield c


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def test_an_allowed_origin_may_read_fhir_responses_and_their_headers(cors_client):
    r = cors_client.get("/fhir/metadata", headers={"Origin": APP_ORIGIN})
    assert r.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "origin" in r.headers["vary"].lower()
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "last-modified", "content-location", "www-authenticate"} <= exposed
    assert "access-control-allow-credentials" not in r.headers   # bearer tokens, never cookies
    assert_security_headers(r)


def test_a_cors_preflight_is_answered_for_the_fhir_api(cors_client):
    r = cors_client.options("/fhir/Patient", headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, if-match, if-none-exist, prefer"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "if-none-exist", "prefer"} <= allowed
    assert "access-control-allow-credentials" not in r.headers


def test_the_well_known_paths_and_the_token_endpoint_take_part_in_cors(cors_client):
    r = cors_client.get("/.well-known/smart-configuration", headers={"Origin": APP_ORIGIN})
    assert r.headers["access-control-allow-origin"] == APP_ORIGIN
    pre = cors_client.options("/auth/token", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
                                                      "Access-Control-Request-Headers": "content-type"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == APP_ORIGIN


def test_another_origin_is_granted_nothing(cors_client):
    r = cors_client.get("/fhir/metadata", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    pre = cors_client.options("/fhir/Patient", headers={"Origin": "https://evil.example",
                                                        "Access-Control-Request-Method": "GET"})
    assert pre.status_code != 200 and "access-control-allow-origin" not in pre.headers


def test_the_clinician_ui_is_never_shared_cross_origin(cors_client):
    r = cors_client.get("/", headers={"Origin": APP_ORIGIN})
    assert cors_headers(r) == {}


def test_without_cors_origins_there_are_no_cors_headers_at_all(client):
    r = client.get("/fhir/metadata", headers={"Origin": APP_ORIGIN})
    assert cors_headers(r) == {}
    pre = client.options("/fhir/Patient", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "GET"})
    assert cors_headers(pre) == {}


def test_a_cors_origin_that_is_not_an_origin_is_a_configuration_error():
    assert parse_origins(" https://a.vn/ ,, http://b.vn:8080") == ["https://a.vn", "http://b.vn:8080"]
    assert parse_origins("") == []
    with pytest.raises(errors.ConfigError, match="app.example.vn/path"):
        parse_origins("https://app.example.vn/path")


# --- the self-signed certificate ---------------------------------------------------------------

def make_certificate(data_dir: Path, *hosts: str) -> subprocess.CompletedProcess:
    args = ["tls", "self-signed", "--data-dir", str(data_dir), "--days", "90"]
    for h in hosts:
        args += ["--host", h]
    return run_benhan(*args)


def printed_setting(stdout: str, name: str) -> Path:
    line = next(line for line in stdout.splitlines() if line.startswith(f"{name} = "))
    return Path(line.split("=", 1)[1].strip().strip("'"))


def test_tls_self_signed_writes_a_certificate_for_the_lan_and_a_private_key(tmp_path: Path):
    done = make_certificate(tmp_path / "data", "benhan-pc", "192.168.1.10")
    assert done.returncode == 0, done.stderr
    cert_file, key_file = printed_setting(done.stdout, "tls_cert_file"), printed_setting(done.stdout, "tls_key_file")
    assert cert_file.parent == key_file.parent == (tmp_path / "data" / "tls").resolve()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pem = cert_file.read_text()
    der = ssl.PEM_cert_to_DER_cert(pem)
    expected = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    assert f"SHA-256 fingerprint: {expected}" in done.stdout
    names = x509.load_pem_x509_certificate(pem.encode()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert {"benhan-pc", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert {"192.168.1.10", "127.0.0.1"} <= {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    assert "PRIVATE KEY" in key_file.read_text()


def test_tls_self_signed_does_not_replace_a_certificate_without_force(tmp_path: Path):
    assert make_certificate(tmp_path / "data").returncode == 0
    again = make_certificate(tmp_path / "data")
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "BENHAN-4001" in again.stderr and "--force" in again.stderr


def write_config(data_dir: Path, **settings: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "benhan.toml").write_text("".join(f"{k} = '{v}'\n" for k, v in settings.items()))


@pytest.fixture(scope="module")
def two_certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    dirs = []
    for name in ("one", "two"):
        d = tmp_path_factory.mktemp(name)
        assert make_certificate(d).returncode == 0
        dirs.append(d / "tls")
    return dirs[0], dirs[1]


@pytest.mark.parametrize("case, says", [
    ("missing certificate", "no such file"),
    ("key of another certificate", "is not the key of the certificate"),
    ("not a certificate", "not a PEM certificate"),
    ("certificate without key", "set both"),
])
def test_serve_with_a_bad_certificate_or_key_says_so_in_one_line(tmp_path: Path, two_certificates, case, says):
    one, two = two_certificates
    settings = {
        "missing certificate": {"tls_cert_file": tmp_path / "nope.pem", "tls_key_file": one / "benhan-key.pem"},
        "key of another certificate": {"tls_cert_file": one / "benhan-cert.pem",
                                       "tls_key_file": two / "benhan-key.pem"},
        "not a certificate": {"tls_cert_file": one / "benhan-key.pem", "tls_key_file": one / "benhan-key.pem"},
        "certificate without key": {"tls_cert_file": one / "benhan-cert.pem"},
    }[case]
    write_config(tmp_path / "data", **{k: str(v) for k, v in settings.items()})
    done = run_benhan("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "BENHAN-4001" in done.stderr and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout


# --- a real server over HTTPS, logging at debug level -----------------------------------------

@dataclass
class TlsServer:
    process: subprocess.Popen
    base: str
    trust: ssl.SSLContext
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """`benhan serve` over HTTPS with the self-signed certificate, log level debug (access log on)."""
    data = tmp_path_factory.mktemp("https") / "data"
    made = make_certificate(data)
    assert made.returncode == 0, made.stderr
    cert = printed_setting(made.stdout, "tls_cert_file")
    write_config(data, tls_cert_file=str(cert), tls_key_file=str(printed_setting(made.stdout, "tls_key_file")),
                 log_level="debug", cors_origins=APP_ORIGIN)
    port = free_port()
    log_path = data.parent / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    with open(log_path, "wb") as log:
        process = spawn(benhan_command("serve", "--data-dir", str(data), "--port", str(port)),
                        stdout=log, stderr=subprocess.STDOUT, env=env)
    server = TlsServer(process, f"https://127.0.0.1:{port}", ssl.create_default_context(cafile=str(cert)), log_path)
    deadline = time.monotonic() + 60
    try:
        with httpx.Client(verify=server.trust, timeout=2) as http:
            while True:
                assert process.poll() is None, server.log()
                assert time.monotonic() < deadline, server.log()
                try:
                    if http.get(f"{server.base}/fhir/metadata").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
        yield server
    finally:
        terminate(process)


def test_the_server_speaks_https_with_the_self_signed_certificate_and_sends_hsts(https_server: TlsServer):
    with httpx.Client(verify=https_server.trust) as http:
        r = http.get(f"{https_server.base}/fhir/metadata", headers={"Origin": APP_ORIGIN})
    assert r.status_code == 200
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert r.headers["access-control-allow-origin"] == APP_ORIGIN
    assert_security_headers(r)
    assert "FHIR R4 API:  https://localhost:" in https_server.log()


def test_plain_http_to_the_https_port_gets_no_page(https_server: TlsServer):
    with httpx.Client() as http, pytest.raises(httpx.TransportError):
        http.get(https_server.base.replace("https://", "http://") + "/fhir/metadata")


def test_no_secret_reaches_the_server_log(https_server: TlsServer):
    secret = {k: f"{k}-{uuid.uuid4().hex}" for k in (
        "bearer", "cookie", "query_token", "password", "code", "verifier", "client_secret", "refresh", "jwt_sig",
        "revoke", "basic")}
    jwt = f"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.{secret['jwt_sig']}"
    with httpx.Client(verify=https_server.trust, timeout=10) as http:
        http.get(f"{https_server.base}/fhir/Patient?name=an&access_token={secret['query_token']}",
                 headers={"Authorization": f"Bearer {secret['bearer']}",
                          "Cookie": f"benhan_session={secret['cookie']}"})
        http.post(f"{https_server.base}/login", data={"username": "admin", "password": secret["password"]})
        http.post(f"{https_server.base}/auth/token?grant_type=authorization_code&code={secret['code']}"
                  f"&code_verifier={secret['verifier']}&client_secret={secret['client_secret']}"
                  f"&refresh_token={secret['refresh']}",
                  data={"client_assertion": jwt, "password": secret["password"]})
        http.get(f"{https_server.base}/fhir/metadata?client_assertion={jwt}",
                 headers={"Authorization": f"Basic {secret['basic']}"})
        http.post(f"{https_server.base}/auth/revoke?token={secret['revoke']}")
    time.sleep(0.3)   # the access log line is written after the response
    log = https_server.log()
    # The access log is on and kept the request lines, with the secrets taken out.
    assert f"/fhir/Patient?name=an&access_token=[redacted]" in log, log[-3000:]
    leaked = [name for name, value in secret.items() if value in log]
    assert leaked == [], log[-3000:]


# --- the log filter itself ---------------------------------------------------------------------

@pytest.mark.parametrize("text, kept", [
    ("GET /fhir/Patient?access_token=abc123&name=an", "name=an"),
    ("POST /login username=admin&password=hunter2hunter2", "username=admin"),
    ('{"client_secret": "abc123", "client_id": "lab"}', '"client_id": "lab"'),
    ("headers: [(b'authorization', b'Bearer abc123'), (b'host', b'x')]", "(b'host', b'x')"),
    ("Authorization: Bearer abc123", "Authorization: "),
    ("Cookie: benhan_session=abc123; theme=dark", "Cookie: "),
    ("grant_type=authorization_code&code=abc123&redirect_uri=https://app", "grant_type=authorization_code"),
    ("connect to postgresql+psycopg://benhan:abc123@db/benhan failed", "postgresql+psycopg://benhan:[redacted]@db"),
    ("assertion eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.abc123", "assertion "),
])
def test_redact_removes_the_secret_and_keeps_the_rest(text: str, kept: str):
    clean = redact(text)
    assert "abc123" not in clean and "hunter2" not in clean and "[redacted]" in clean
    assert kept in clean


def test_redact_keeps_fhir_searches_readable():
    line = "GET /fhir/Observation?code=http://loinc.org|8867-4&patient=Patient/p1"
    assert redact(line) == line


def record(msg: str, *args: object, name: str = "benhan", exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args or None, exc_info)


def test_the_filter_redacts_a_secret_split_between_message_and_arguments():
    r = record("login for %s with password=%s", "admin", "hunter2hunter2")
    assert RedactSecrets().filter(r)
    assert r.getMessage() == "login for admin with password=[redacted]"


def test_the_filter_keeps_uvicorns_access_log_arguments_usable():
    from uvicorn.logging import AccessFormatter
    r = record('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/fhir/Patient?access_token=abc123", "1.1", 200,
               name="uvicorn.access")
    assert RedactSecrets().filter(r)
    line = AccessFormatter(fmt='%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(r)
    assert line == '127.0.0.1:5000 - "GET /fhir/Patient?access_token=[redacted] HTTP/1.1" 200 OK'


def test_the_filter_redacts_tracebacks():
    try:
        raise ValueError("bad token in Authorization: Bearer abc123")
    except ValueError:
        import sys
        r = record("failed", exc_info=sys.exc_info())
    assert RedactSecrets().filter(r)
    text = logging.Formatter().format(r)
    assert "ValueError" in text and "abc123" not in text
