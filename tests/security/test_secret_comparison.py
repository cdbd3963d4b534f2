"""Secrets are compared in constant time (`hmac.compare_digest`), never with `==`.

In-process, no stack: the code path of an API call's authentication is followed from the
request headers to the comparison with a spy on `hmac.compare_digest`, and with an offered
secret that fails the test if anything compares it with `==`. A static check covers the rest
of the code. (A timing measurement would be flaky; the code path is what guarantees it.)
"""

from __future__ import annotations

import ast
import hmac
import re
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from paygate import security
from paygate.errors import AuthenticationFailed
from paygate.services.merchants import MerchantService
from paygate.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
STORED_SECRET = "secret_live_" + "ab" * 24
# A token's version is a counter that every credential change moves on (a conditional write's
# lock), not a secret.
SENSITIVE = re.compile(
    r"secret|signature|password|passwd|token(?!_version)|digest|hmac", re.IGNORECASE
)


class NoEquality(str):
    """A secret that refuses `==`/`!=`: only a byte-wise constant-time comparison may read it."""

    __hash__ = str.__hash__

    def __eq__(self, other):
        raise AssertionError("a secret was compared with ==")

    def __ne__(self, other):
        raise AssertionError("a secret was compared with !=")


class OneMerchant:
    """The repository of a single merchant (what `authenticate_api` reads)."""

    def __init__(self) -> None:
        self.merchant = SimpleNamespace(
            id="m-1",
            api_key="key_live_known",
            api_secret=STORED_SECRET,
            previous_api_secret=None,
            previous_api_secret_expires_at=None,
            previous_api_secrets=None,
            token_version=0,
            email="m@example.com",
        )

    def get_by_api_key(self, api_key, max_age=0):
        return self.merchant if api_key == self.merchant.api_key else None

    def get(self, merchant_id, max_age=0):
        return self.merchant if merchant_id == self.merchant.id else None


@pytest.fixture
def compare_calls(monkeypatch) -> list[tuple[bytes, bytes]]:
    """Every call of `hmac.compare_digest` made by the test's own thread (the real one still
    answers). Other threads of the session, such as a webhook receiver of an earlier test that
    verifies a late retry, are not the test's."""
    calls, real, owner = [], hmac.compare_digest, threading.get_ident()

    def spy(a, b):
        if threading.get_ident() == owner:
            calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


@pytest.fixture
def merchants() -> MerchantService:
    return MerchantService(OneMerchant(), Settings(auth_token_secret="t" * 32), login_limits=None)


def authenticate(monkeypatch, merchants, headers: dict):
    """`chalicelib.http.current_merchant` as a view calls it, with this service behind it."""
    from chalicelib import http

    monkeypatch.setattr(http, "services", lambda: SimpleNamespace(merchants=merchants))
    request = SimpleNamespace(headers={k.lower(): v for k, v in headers.items()})
    return http.current_merchant(request)


def test_right_secret_is_accepted_through_compare_digest(monkeypatch, merchants, compare_calls):
    offered = NoEquality(STORED_SECRET)
    merchant = authenticate(
        monkeypatch, merchants, {"X-Api-Key": "key_live_known", "X-Api-Secret": offered}
    )
    assert merchant.id == "m-1"
    assert compare_calls == [(STORED_SECRET.encode(), STORED_SECRET.encode())]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Api-Key": "key_live_known", "X-Api-Secret": NoEquality(STORED_SECRET[:-1] + "x")},
        {"X-Api-Key": "key_live_known", "X-Api-Secret": NoEquality(STORED_SECRET[:5])},
        {"X-Api-Key": "key_live_unknown", "X-Api-Secret": NoEquality(STORED_SECRET)},
        {"X-Api-Key": "key_live_known"},
    ],
    ids=["last-char-wrong", "prefix", "unknown-key", "no-secret"],
)
def test_every_refusal_goes_through_compare_digest(monkeypatch, merchants, compare_calls, headers):
    """Also for an unknown key (against a dummy), so timing tells nothing about which keys
    exist, and for a missing secret."""
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(monkeypatch, merchants, headers)
    assert refused.value.description == "Invalid API credentials"
    # Once, or twice when a cached copy of a known key is re-read in case the secret was
    # rolled by another process meanwhile.
    assert 1 <= len(compare_calls) <= 2
    offered = headers.get("X-Api-Secret", "")
    assert all(offered_bytes == str.encode(offered) for _, offered_bytes in compare_calls)


def test_dashboard_tokens_are_checked_with_compare_digest(monkeypatch, merchants, compare_calls):
    token = security.sign_token("m-1", 0, "t" * 32, 60)
    assert authenticate(monkeypatch, merchants, {"Authorization": f"Bearer {token}"}).id == "m-1"
    assert len(compare_calls) == 1
    payload, signature = token.split(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(AuthenticationFailed):
        authenticate(monkeypatch, merchants, {"Authorization": f"Bearer {forged}"})
    assert len(compare_calls) == 2


def test_passwords_are_checked_with_compare_digest(compare_calls):
    stored = security.hash_password("correct horse")
    assert security.verify_password("correct horse", stored)
    assert not security.verify_password("wrong horse", stored)
    assert len(compare_calls) == 2


def equality_on_secrets(source: str) -> list[str]:
    """`==`/`!=` comparisons that involve a name that looks like a secret."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            continue
        names = [
            n.id if isinstance(n, ast.Name) else n.attr
            for operand in (node.left, *node.comparators)
            for n in ast.walk(operand)
            if isinstance(n, (ast.Name, ast.Attribute))
        ]
        if any(SENSITIVE.search(name) for name in names):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_secret_is_compared_with_equality_anywhere():
    sources = [
        *ROOT.joinpath("functions").rglob("*.py"),
        *ROOT.joinpath("layers", "shared", "paygate").rglob("*.py"),
    ]
    assert len(sources) > 20
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sources
        if (hits := equality_on_secrets(path.read_text()))
    }
    assert found == {}


def test_the_static_check_catches_an_equality():
    assert equality_on_secrets("ok = merchant.api_secret == offered\n")
    assert equality_on_secrets("if signature != expected_sig: pass\n")
    assert not equality_on_secrets("ok = hmac.compare_digest(a, b)\nif status == 'x': pass\n")
    assert equality_on_secrets("if token == offered_token: pass\n")
    assert not equality_on_secrets("locked = Model.token_version == 3\n")
