"""No secret in git: every tracked file (``git ls-files``) is scanned for private keys, service tokens,
credentials in URLs and passwords/secrets/tokens assigned literally. Secrets belong in the state directory
(``.stack/secrets``, generated at first start); what legitimately looks like one is allow-listed below with
the reason, and an allow-list entry that no longer matches anything fails too (so the list stays honest)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from iptv.config import REPO_ROOT

pytestmark = pytest.mark.unit

#: Files that are key material by their name alone.
KEY_FILE = re.compile(r"(\.(pem|key|p12|pfx|jks|keystore|truststore|kdb)|(^|/)id_(rsa|dsa|ecdsa|ed25519))$", re.I)

#: Secrets recognisable by their shape, wherever they appear.
SHAPED = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9_-]{32,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}

#: user:password@ in a URL; the captured group is the password.
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^/\s@'\"]+)@", re.I)

_NAME = r"[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*"
#: name = "value" / name: 'value' / "name": "value" (code, YAML, JSON): (name, quote, value). The colon must follow
#: the name directly, as in YAML and JSON, so psql's ``PASSWORD :'variable'`` is not an assignment.
QUOTED_ASSIGNMENT = re.compile(rf"(?i)[\"']?\b({_NAME})[\"']?(?:\s*=\s*|:\s*)([\"'])([^\"'\n]{{4,}})\2")
#: name: value / name=value unquoted, in configuration files only (in code an unquoted value is a variable).
UNQUOTED_ASSIGNMENT = re.compile(rf"(?im)^[ \t]*(?:export[ \t]+)?({_NAME})[ \t]*(?:=|:)[ \t]*([^\s#\"'][^\s#]*)")
CONFIG_SUFFIXES = {".yaml", ".yml", ".properties", ".conf", ".cfg", ".ini", ".env", ".toml"}
#: A literal password in SQL (``CREATE ROLE x PASSWORD '<literal>'``).
SQL_PASSWORD = re.compile(r"(?i)\bPASSWORD\s+'([^'\n]{4,})'")

#: Values that stand for a secret without being one: masks, templates, references, examples, empty markers.
PLACEHOLDER = re.compile(r"^(?:[xX*.]+|<[^>]*>|change[_-]?me.*|none|null|true|false|\d{1,3})$|[{}$%]|^[:\\]", re.I)
#: Settings about a secret, not the secret: where it is (credentials_file, ssl.keystore.location) or how it is
#: used (password_encryption, sasl.mechanism).
ABOUT_A_SECRET = re.compile(
    r"(?i)[_.-](?:file|path|dir|location|type|name|env|encryption|method|algorithm|mechanism|protocol)$"
)

#: (path, the matched value) -> why it is legitimately in git.
ALLOWED: dict[tuple[str, str], str] = {
    ("tests/integration/test_postgres.py", "not-the-password"): "a deliberately wrong password, shown refused",
    ("tests/unit/test_superset_tree.py", "secret"): "a password planted in an export, shown refused by the check",
    ("tests/integration/test_kafka_access.py", "not-the-password"): "a deliberately wrong password, shown refused",
    ("iptv/kafka_security.py", "sasl_plain_password"): "kafka-python's keyword for the password, not a password",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    value: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 12 else self.value[:6] + "..."
        return f"{self.path}:{self.line}: {self.kind} ({shown!r})"


def scan_text(path: str, text: str) -> list[Finding]:
    """The secret-looking strings of one file (placeholders left out, the allow-list not applied)."""
    found: list[Finding] = []

    def add(kind: str, value: str, pos: int, name: str = "") -> None:
        if not PLACEHOLDER.search(value.strip()) and not ABOUT_A_SECRET.search(name):
            found.append(Finding(path, text.count("\n", 0, pos) + 1, kind, value))

    for kind, pattern in SHAPED.items():
        for m in pattern.finditer(text):
            found.append(Finding(path, text.count("\n", 0, m.start()) + 1, kind, m.group(0)))
    for m in URL_CREDENTIALS.finditer(text):
        add("password in a URL", m.group(1), m.start())
    for m in QUOTED_ASSIGNMENT.finditer(text):
        add("literal secret assignment", m.group(3), m.start(), m.group(1))
    for m in SQL_PASSWORD.finditer(text):
        add("literal SQL password", m.group(1), m.start())
    if Path(path).suffix.lower() in CONFIG_SUFFIXES or Path(path).name.startswith(".env"):
        for m in UNQUOTED_ASSIGNMENT.finditer(text):
            add("literal secret assignment", m.group(2), m.start(), m.group(1))
    return found


def tracked_files() -> list[str]:
    res = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
    return [p for p in res.stdout.decode().split("\0") if p]


def scan_repository() -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    key_files: list[str] = []
    for rel in tracked_files():
        if KEY_FILE.search(rel):
            key_files.append(rel)
        path = REPO_ROOT / rel
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary: images, notebooks' outputs are text
            continue
        findings += scan_text(rel, data.decode("utf-8", errors="replace"))
    return findings, key_files


def test_tracked_files_hold_no_secrets():
    findings, key_files = scan_repository()
    assert not key_files, f"key material tracked in git: {key_files}"
    unexplained = [f for f in findings if (f.path, f.value) not in ALLOWED]
    assert not unexplained, "secrets in tracked files (move them to .stack/secrets):\n" + "\n".join(
        map(str, unexplained)
    )
    stale = set(ALLOWED) - {(f.path, f.value) for f in findings}
    assert not stale, f"allow-list entries that match nothing any more (remove them): {sorted(stale)}"
    assert len(tracked_files()) > 100  # the scan saw the repository, not an empty listing


# The scanner's own checks. The samples are assembled at run time so this file holds none of them.
BEGIN = "-----BEGIN "


@pytest.mark.parametrize(
    ("path", "text", "kind"),
    [
        ("a.py", BEGIN + "RSA PRIVATE KEY-----\nMIIEow...\n", "private key"),
        ("a.txt", BEGIN + "PRIVATE KEY-----", "private key"),
        ("a.py", "key = '" + "AKIA" + "ABCDEFGHIJKLMNOP'", "AWS access key"),
        ("a.md", "gh" + "p_" + "a1B2" * 9, "GitHub token"),
        ("a.py", "url = 'postgresql://loader:" + "s3cr3tPass@db:5432/iptv'", "password in a URL"),
        ("a.py", 'connect(password="' + 'hunter22")', "literal secret assignment"),
        ("a.py", "ADMIN_TOKEN = '" + "f0e1d2c3b4a5'", "literal secret assignment"),
        ("a.json", '{"admin_password": "' + 'Zq9-xx7_kk"}', "literal secret assignment"),
        ("c.yaml", "kafka:\n  sasl_password: " + "Zq9xx7kk\n", "literal secret assignment"),
        ("c.properties", "ssl.keystore.password=" + "changeit2\n", "literal secret assignment"),
        ("r.sql", "CREATE ROLE x LOGIN PASSWORD" + " 'Zq9xx7kk'", "literal SQL password"),
        ("x.sh", "export API_KEY=" + "abcd1234\n", None),  # not a config file: a shell variable may be anything
    ],
)
def test_scanner_finds_secrets(path, text, kind):
    kinds = [f.kind for f in scan_text(path, text)]
    assert (kind in kinds) if kind else not kinds, kinds


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("c.yaml", "sqlalchemy_uri: postgresql+psycopg2://iptv_reader:XXXXXXXXXX@127.0.0.1:5433/iptv"),
        ("a.py", 'uri = f"postgresql://{user}:{password}@{host}"'),
        ("a.py", "password = creds[user]"),
        ("c.yaml", 'password: "${PG_PASSWORD}"'),
        ("r.sql", "ALTER ROLE :\"admin_user\" WITH PASSWORD :'admin_password';"),
        ("c.yaml", '  # JSON: {"p12_password": "..."} for client_p12_file.'),
        ("c.yaml", "  credentials_file: .stack/secrets/postgres-credentials.json"),
        ("c.properties", "ssl.truststore.location=/etc/kafka/ca.p12\nssl.truststore.type=PKCS12\n"),
    ],
)
def test_scanner_leaves_placeholders_and_references(path, text):
    assert scan_text(path, text) == []
