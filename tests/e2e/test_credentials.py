"""Credentials over HTTP: roll the API secret, change the password, sign out everywhere, the
sign-in limits per account and per client address, and hostile credentials."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support.stack import TEST_HEADERS, client_from

PASSWORD = "hunter22!"


def signup(stack, client=None) -> dict:
    email = f"{uuid.uuid4().hex}@example.com"
    response = (client or client_from()).post(
        stack.api + "/api/v1/auth/signup",
        json={"name": "Creds Shop", "email": email, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    account = response.json()
    account["email"] = email
    account["headers"] = {"X-Api-Key": account["api_key"], "X-Api-Secret": account["api_secret"]}
    return account


def login(stack, email, password=PASSWORD, client=None, **kwargs) -> requests.Response:
    client = client or client_from()
    return client.post(
        stack.api + "/api/v1/auth/login",
        json={"email": email, "password": password},
        timeout=10,
        **kwargs,
    )


def bearer(stack, email, password=PASSWORD) -> dict:
    response = login(stack, email, password)
    assert response.status_code == 200, response.text
    return {"Authorization": "Bearer " + response.json()["token"]}


def call(stack, method, path, headers, **kwargs) -> requests.Response:
    return requests.request(method, stack.api + path, headers=headers, timeout=10, **kwargs)


def order_status(stack, headers) -> int:
    return call(stack, "POST", "/api/v1/orders", headers, json={"amount": 100}).status_code


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


# ---------------------------------------------------------------------------- roll
def test_roll_with_the_secret_itself_returns_a_new_secret_once(stack):
    account = signup(stack)
    rolled = call(stack, "POST", "/api/v1/merchant/api-secret/roll", account["headers"])
    assert rolled.status_code == 200, rolled.text
    body = rolled.json()
    assert set(body) == {"api_key", "api_secret", "previous_secret_expires_at"}
    assert body["api_key"] == account["api_key"] and body["previous_secret_expires_at"] is None
    assert body["api_secret"] != account["api_secret"]
    new = {"X-Api-Key": account["api_key"], "X-Api-Secret": body["api_secret"]}
    assert order_status(stack, new) == 201
    assert_error(
        call(stack, "POST", "/api/v1/orders", account["headers"], json={"amount": 100}),
        401,
        "AUTHENTICATION_ERROR",
    )


def test_roll_with_overlap_keeps_the_old_secret_for_api_calls_only(stack):
    account = signup(stack)
    rolled = call(
        stack,
        "POST",
        "/api/v1/merchant/api-secret/roll",
        account["headers"],
        json={"expire_previous_in": 3600},
    ).json()
    assert rolled["previous_secret_expires_at"].endswith("Z")
    assert order_status(stack, account["headers"]) == 201  # old, within the overlap
    # ...but the old secret can neither read nor roll the new one.
    for method, path in (
        ("GET", "/api/v1/merchant"),
        ("POST", "/api/v1/merchant/api-secret/roll"),
        ("POST", "/api/v1/auth/logout-all"),
    ):
        refused = call(stack, method, path, account["headers"])
        assert_error(refused, 401, "AUTHENTICATION_ERROR")
        assert "rolled" in refused.json()["error"]["description"]
    new = {"X-Api-Key": account["api_key"], "X-Api-Secret": rolled["api_secret"]}
    assert call(stack, "GET", "/api/v1/merchant", new).json()["api_secret"] == rolled["api_secret"]


def test_several_rolls_keep_every_promised_secret_up_to_five_and_zero_revokes_them(stack):
    account = signup(stack)
    secrets, roll = [account["api_secret"]], "/api/v1/merchant/api-secret/roll"

    def headers(secret):
        return {"X-Api-Key": account["api_key"], "X-Api-Secret": secret}

    for _ in range(4):
        rolled = call(stack, "POST", roll, headers(secrets[-1]), json={"expire_previous_in": 600})
        assert rolled.status_code == 200, rolled.text
        secrets.append(rolled.json()["api_secret"])
    assert [order_status(stack, headers(s)) for s in secrets] == [201] * 5
    for secret in secrets[:-1]:
        assert_error(
            call(stack, "GET", "/api/v1/merchant", headers(secret)), 401, "AUTHENTICATION_ERROR"
        )
    sixth = call(stack, "POST", roll, headers(secrets[-1]), json={"expire_previous_in": 600})
    assert_error(sixth, 400, "BAD_REQUEST_ERROR")
    assert [order_status(stack, headers(s)) for s in secrets] == [201] * 5  # nothing changed
    me = call(stack, "GET", "/api/v1/merchant", headers(secrets[-1]))
    assert me.status_code == 200 and me.json()["api_secret"] == secrets[-1]
    revoked = call(stack, "POST", roll, headers(secrets[-1]), json={"expire_previous_in": 0})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["previous_secret_expires_at"] is None
    assert [order_status(stack, headers(s)) for s in secrets] == [401] * 5
    assert order_status(stack, headers(revoked.json()["api_secret"])) == 201


def test_roll_from_the_dashboard_revokes_old_tokens_and_hands_over_a_new_one(stack):
    account = signup(stack)
    session, other = bearer(stack, account["email"]), bearer(stack, account["email"])
    rolled = call(stack, "POST", "/api/v1/merchant/api-secret/roll", session, json={})
    assert rolled.status_code == 200, rolled.text
    token = rolled.json()["token"]
    me = call(stack, "GET", "/api/v1/merchant", {"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["api_secret"] == rolled.json()["api_secret"]
    for revoked in (session, other):
        assert_error(call(stack, "GET", "/api/v1/merchant", revoked), 401, "AUTHENTICATION_ERROR")


@pytest.mark.parametrize(
    "body",
    [
        b'{"expire_previous_in": -1}',
        b'{"expire_previous_in": 604801}',
        b'{"expire_previous_in": "60"}',
        b'{"expire_previous_in": 1e3}',
        b"[]",
        b"{not json",
    ],
)
def test_a_bad_roll_request_is_refused_and_changes_nothing(stack, body):
    account = signup(stack)
    refused = call(
        stack,
        "POST",
        "/api/v1/merchant/api-secret/roll",
        {**account["headers"], "Content-Type": "application/json"},
        data=body,
    )
    assert_error(refused, 400, "BAD_REQUEST_ERROR")
    assert order_status(stack, account["headers"]) == 201


def test_the_seeded_merchant_keeps_its_contract_credentials_in_demo_mode(stack):
    refused = call(stack, "POST", "/api/v1/merchant/api-secret/roll", TEST_HEADERS)
    assert_error(refused, 400, "BAD_REQUEST_ERROR")
    assert "DEMO_LOGIN" in refused.json()["error"]["description"]
    password = call(
        stack,
        "POST",
        "/api/v1/auth/password",
        TEST_HEADERS,
        json={"current_password": "anything", "new_password": "n3w-password"},
    )
    assert_error(password, 400, "BAD_REQUEST_ERROR")
    assert order_status(stack, TEST_HEADERS) == 201


def test_credential_routes_need_credentials(stack):
    for path in (
        "/api/v1/merchant/api-secret/roll",
        "/api/v1/auth/password",
        "/api/v1/auth/logout-all",
    ):
        assert_error(call(stack, "POST", path, {}), 401, "AUTHENTICATION_ERROR")
        forged = {"Authorization": "Bearer e30.c2ln"}
        assert_error(call(stack, "POST", path, forged), 401, "AUTHENTICATION_ERROR")


# ---------------------------------------------------------------------------- password
def test_password_change_ends_other_sessions_and_keeps_this_one(stack):
    account = signup(stack)
    mine, other = bearer(stack, account["email"]), bearer(stack, account["email"])
    wrong = call(
        stack,
        "POST",
        "/api/v1/auth/password",
        mine,
        json={"current_password": "not-my-password", "new_password": "n3w-password!"},
    )
    assert_error(wrong, 400, "BAD_REQUEST_ERROR")
    changed = call(
        stack,
        "POST",
        "/api/v1/auth/password",
        mine,
        json={"current_password": PASSWORD, "new_password": "n3w-password!"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["merchant"]["email"] == account["email"]
    fresh = {"Authorization": "Bearer " + changed.json()["token"]}
    assert call(stack, "GET", "/api/v1/merchant", fresh).status_code == 200
    for revoked in (mine, other):
        assert_error(call(stack, "GET", "/api/v1/merchant", revoked), 401, "AUTHENTICATION_ERROR")
    assert login(stack, account["email"]).status_code == 401
    assert login(stack, account["email"], "n3w-password!").status_code == 200
    # The API secret is not a session: it keeps working.
    assert order_status(stack, account["headers"]) == 201


def test_logout_all_ends_every_session(stack):
    account = signup(stack)
    sessions = [bearer(stack, account["email"]) for _ in range(3)]
    done = call(stack, "POST", "/api/v1/auth/logout-all", sessions[0])
    assert done.status_code == 200, done.text
    for session in sessions:
        assert_error(call(stack, "GET", "/api/v1/merchant", session), 401, "AUTHENTICATION_ERROR")
    assert login(stack, account["email"]).status_code == 200


# ---------------------------------------------------------------------------- limits
def test_five_failed_sign_ins_lock_the_account_with_retry_after(stack):
    account = signup(stack)
    for _ in range(5):
        assert_error(login(stack, account["email"], "wrong-pass"), 401, "AUTHENTICATION_ERROR")
    locked = login(stack, account["email"])  # the right password, from yet another address
    assert_error(locked, 429, "RATE_LIMITED")
    assert 1 <= int(locked.headers["Retry-After"]) <= 900
    assert order_status(stack, account["headers"]) == 201  # the API keys are not locked


def test_five_failures_from_one_address_lock_that_address_whatever_it_claims(stack):
    account = signup(stack)
    attacker = client_from()
    for i in range(5):
        failed = login(
            stack,
            f"{uuid.uuid4().hex}@example.com",
            "guess",
            client=attacker,
            headers={"X-Forwarded-For": f"10.0.0.{i}", "X-Real-IP": f"10.0.1.{i}"},
        )
        assert_error(failed, 401, "AUTHENTICATION_ERROR")
    spoofed = login(
        stack, account["email"], client=attacker, headers={"X-Forwarded-For": "192.0.2.1"}
    )
    assert_error(spoofed, 429, "RATE_LIMITED")
    assert "Retry-After" in spoofed.headers
    assert login(stack, account["email"], client=client_from()).status_code == 200


def test_unknown_emails_are_limited_like_known_ones(stack):
    email = f"{uuid.uuid4().hex}@example.com"
    answers = [login(stack, email, "guess").status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]


# ---------------------------------------------------------------------------- hostile keys
@pytest.mark.parametrize(
    "key",
    ["k" * 3000, "key_test_" + "a" * 2100, "key_test_abc123\u00e9", "key_test_abc123' OR 1=1"],
)
def test_misshapen_api_keys_are_refused_with_401(stack, key):
    response = requests.get(
        stack.api + "/api/v1/payments",
        headers={"X-Api-Key": key.encode("utf-8").decode("latin-1"), "X-Api-Secret": "x"},
        timeout=10,
    )
    assert_error(response, 401, "AUTHENTICATION_ERROR")
    assert response.json()["error"]["description"] == "Invalid API credentials"
