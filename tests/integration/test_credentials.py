"""Credentials on the real merchants and counters tables (moto): rolling the API secret with
and without an overlap, changing the password, signing out everywhere, the sign-in limits, and
sign-in timing that does not tell which emails exist."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest

from paygate import clock
from paygate.db.merchants import MerchantRepository
from paygate.db.rate_limits import RateLimitRepository
from paygate.errors import AuthenticationFailed, BadRequest, PaygateError, RateLimited
from paygate.services.merchants import (
    LOGIN_FAILURES,
    LOGIN_WINDOW_SECONDS,
    MAX_SECRET_OVERLAP_SECONDS,
    LoginLimits,
    MerchantService,
)
from paygate.services.rate_limits import RateLimiter
from paygate.settings import get_settings
from tests.integration.helpers import seeded_merchant

PASSWORD = "password1"


def limits(failures: int = LOGIN_FAILURES) -> LoginLimits:
    """Login limits of their own (fresh scopes), so tests never share counters."""
    repo, scope = RateLimitRepository(), uuid.uuid4().hex[:8]
    return LoginLimits(
        account=RateLimiter(repo, f"acct-{scope}", failures, LOGIN_WINDOW_SECONDS),
        address=RateLimiter(repo, f"addr-{scope}", failures, LOGIN_WINDOW_SECONDS),
    )


def service(demo: bool = False, failures: int = LOGIN_FAILURES) -> MerchantService:
    from dataclasses import replace

    settings = replace(get_settings(), demo_login=demo)
    return MerchantService(MerchantRepository(), settings, limits(failures))


def new_account(svc: MerchantService):
    email = f"{uuid.uuid4().hex}@example.com"
    merchant = svc.signup({"name": "Shop", "email": email, "password": PASSWORD})
    return merchant, email


def login(svc, email, password=PASSWORD, address="198.51.100.7"):
    return svc.login({"email": email, "password": password}, address)


# ---------------------------------------------------------------------------- API secret
def test_roll_without_overlap_ends_the_old_secret_at_once():
    svc = service()
    merchant, _ = new_account(svc)
    old = merchant.api_secret
    view, _ = svc.roll_api_secret(merchant, None)
    assert view["api_key"] == merchant.api_key
    assert view["api_secret"].startswith("secret_live_") and view["api_secret"] != old
    assert view["previous_secret_expires_at"] is None
    assert svc.authenticate_api(merchant.api_key, view["api_secret"]).id == merchant.id
    for allow_rolled in (True, False):
        with pytest.raises(AuthenticationFailed):
            svc.authenticate_api(merchant.api_key, old, allow_rolled)


def test_another_process_sees_the_rolled_secret_at_once():
    """Each API process keeps a copy of the merchant for 10 s; a new secret that does not
    match the copy makes it read the merchant again, the old one is refused at once."""
    svc, other = service(), service()
    merchant, _ = new_account(svc)
    assert other.authenticate_api(merchant.api_key, merchant.api_secret)  # caches a copy
    view, _ = svc.roll_api_secret(merchant, {"expire_previous_in": 0})
    assert other.authenticate_api(merchant.api_key, view["api_secret"]).id == merchant.id
    with pytest.raises(AuthenticationFailed):
        other.authenticate_api(merchant.api_key, merchant.api_secret)


def test_roll_with_overlap_keeps_the_old_secret_for_api_calls_until_it_expires(monkeypatch):
    svc = service()
    merchant, _ = new_account(svc)
    old = merchant.api_secret
    start = clock.unix()
    view, _ = svc.roll_api_secret(merchant, {"expire_previous_in": 3600})
    expires = view["previous_secret_expires_at"]
    at = [clock.iso(datetime.fromtimestamp(start + 3600 + s, UTC)) for s in (0, 2)]
    assert at[0] <= expires <= at[1], (expires, at)
    assert svc.authenticate_api(merchant.api_key, old).id == merchant.id
    assert svc.authenticate_api(merchant.api_key, view["api_secret"]).id == merchant.id
    # The old secret may not manage credentials: it could read or roll the new one.
    with pytest.raises(AuthenticationFailed) as refused:
        svc.authenticate_api(merchant.api_key, old, allow_rolled=False)
    assert "rolled" in refused.value.description
    monkeypatch.setattr(clock, "unix", lambda: start + 3601)
    with pytest.raises(AuthenticationFailed):
        svc.authenticate_api(merchant.api_key, old)
    assert svc.authenticate_api(merchant.api_key, view["api_secret"]).id == merchant.id


def works(svc, merchant, secret, allow_rolled=True) -> bool:
    try:
        return svc.authenticate_api(merchant.api_key, secret, allow_rolled).id == merchant.id
    except AuthenticationFailed:
        return False


def test_every_previous_secret_works_until_its_own_expiry(monkeypatch):
    """Each roll keeps its own promise: a later roll neither drops nor shortens an earlier
    one's overlap, and no previous secret may manage credentials."""
    svc = service()
    merchant, _ = new_account(svc)
    start = clock.unix()
    secrets = [merchant.api_secret]
    for overlap in (600, 300, 900):
        view, _ = svc.roll_api_secret(merchant, {"expire_previous_in": overlap})
        secrets.append(view["api_secret"])
    first, second, third, current = secrets
    assert all(works(svc, merchant, s) for s in secrets)
    assert not any(works(svc, merchant, s, allow_rolled=False) for s in secrets[:3])
    assert works(svc, merchant, current, allow_rolled=False)
    monkeypatch.setattr(clock, "unix", lambda: start + 302)  # second's 300 s are over
    assert [works(svc, merchant, s) for s in secrets] == [True, False, True, True]
    monkeypatch.setattr(clock, "unix", lambda: start + 602)
    assert [works(svc, merchant, s) for s in secrets] == [False, False, True, True]
    monkeypatch.setattr(clock, "unix", lambda: start + 902)
    assert [works(svc, merchant, s) for s in secrets] == [False, False, False, True]


def test_at_most_five_secrets_work_and_zero_revokes_every_previous_one():
    svc = service()
    merchant, _ = new_account(svc)
    secrets = [merchant.api_secret]
    for _ in range(4):
        secrets.append(svc.roll_api_secret(merchant, {"expire_previous_in": 600})[0]["api_secret"])
    with pytest.raises(BadRequest) as refused:
        svc.roll_api_secret(merchant, {"expire_previous_in": 600})
    assert "expire_previous_in" in refused.value.description
    fresh = MerchantRepository().get(merchant.id)
    assert fresh.api_secret == secrets[-1]  # the refusal changed nothing
    assert all(works(service(), merchant, s) for s in secrets)
    view, _ = svc.roll_api_secret(merchant, {"expire_previous_in": 0})
    assert view["previous_secret_expires_at"] is None
    assert not any(works(svc, merchant, s) for s in secrets)
    assert works(svc, merchant, view["api_secret"], allow_rolled=False)


def test_two_concurrent_rolls_lose_no_secret():
    svc = service()
    merchant, _ = new_account(svc)
    barrier, results = threading.Barrier(2), []

    def roll():
        other = service()  # its own process: its own cached copies
        barrier.wait()
        results.append(other.roll_api_secret(merchant, {"expire_previous_in": 600})[0])

    threads = [threading.Thread(target=roll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    handed = [merchant.api_secret] + [view["api_secret"] for view in results]
    assert all(works(service(), merchant, s) for s in handed)
    current = [s for s in handed if works(service(), merchant, s, allow_rolled=False)]
    assert len(current) == 1 and current[0] != merchant.api_secret


def test_a_secret_rolled_before_the_list_keeps_its_promise_and_moves_on_the_next_roll():
    svc, repo = service(), MerchantRepository()
    merchant, _ = new_account(svc)
    legacy, expires = "secret_live_" + uuid.uuid4().hex, clock.unix() + 600
    repo.update_fields(merchant, previous_api_secret=legacy, previous_api_secret_expires_at=expires)
    assert works(svc, merchant, legacy) and not works(svc, merchant, legacy, False)
    view, _ = svc.roll_api_secret(merchant, {"expire_previous_in": 60})
    fresh = repo.get(merchant.id)
    assert fresh.previous_api_secret is None and fresh.previous_api_secret_expires_at is None
    for secret in (legacy, merchant.api_secret, view["api_secret"]):
        assert works(service(), merchant, secret)
    assert not works(service(), merchant, legacy, allow_rolled=False)


@pytest.mark.parametrize(
    "body",
    [
        {"expire_previous_in": -1},
        {"expire_previous_in": MAX_SECRET_OVERLAP_SECONDS + 1},
        {"expire_previous_in": "60"},
        {"expire_previous_in": 1.5},
        {"expire_previous_in": True},
        {"expire_previous_in": None},
        [],
        "60",
    ],
)
def test_a_bad_overlap_is_refused_and_changes_nothing(body):
    svc = service()
    merchant, _ = new_account(svc)
    with pytest.raises(BadRequest) as refused:
        svc.roll_api_secret(merchant, body)
    assert "expire_previous_in" in refused.value.description or "object" in (
        refused.value.description
    )
    assert svc.authenticate_api(merchant.api_key, merchant.api_secret).id == merchant.id


def test_the_longest_overlap_is_seven_days():
    svc = service()
    merchant, _ = new_account(svc)
    view, _ = svc.roll_api_secret(merchant, {"expire_previous_in": MAX_SECRET_OVERLAP_SECONDS})
    assert view["previous_secret_expires_at"] > clock.iso()


def test_concurrent_rolls_leave_exactly_one_working_secret():
    svc = service()
    merchant, _ = new_account(svc)
    results, errors = [], []

    def roll():
        try:
            results.append(svc.roll_api_secret(merchant, None)[0]["api_secret"])
        except PaygateError as exc:
            errors.append(exc.code)

    threads = [threading.Thread(target=roll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results and set(errors) <= {"BAD_REQUEST_ERROR"}  # losers: "changed; retry"
    working = []
    for secret in results + [merchant.api_secret]:
        try:
            svc.authenticate_api(merchant.api_key, secret)
            working.append(secret)
        except AuthenticationFailed:
            pass
    assert len(working) == 1 and working[0] in results


# ---------------------------------------------------------------------------- tokens
def test_rolling_the_secret_revokes_every_dashboard_token():
    svc = service()
    merchant, email = new_account(svc)
    token, _ = login(svc, email)
    assert svc.authenticate_token(token).id == merchant.id
    _, fresh = svc.roll_api_secret(merchant, None)
    with pytest.raises(AuthenticationFailed):
        svc.authenticate_token(token)
    assert svc.authenticate_token(svc.issue_token(fresh)).id == merchant.id


def test_logout_everywhere_revokes_every_token_and_sign_in_works_again():
    svc = service()
    merchant, email = new_account(svc)
    tokens = [login(svc, email)[0] for _ in range(3)]
    svc.logout_everywhere(svc.authenticate_token(tokens[0]))
    for token in tokens:
        with pytest.raises(AuthenticationFailed):
            svc.authenticate_token(token)
    token, _ = login(svc, email)
    assert svc.authenticate_token(token).id == merchant.id
    # API credentials are not sessions: they keep working.
    assert svc.authenticate_api(merchant.api_key, merchant.api_secret).id == merchant.id


def test_password_change_needs_the_current_password_and_ends_other_sessions():
    svc = service()
    merchant, email = new_account(svc)
    other_session, _ = login(svc, email)
    with pytest.raises(BadRequest) as wrong:
        svc.change_password(
            merchant, {"current_password": "not-it!!", "new_password": "n3w-password"}
        )
    assert wrong.value.description == "current_password is incorrect"
    assert svc.authenticate_token(other_session)  # a refusal changes nothing
    token, _ = svc.change_password(
        merchant, {"current_password": PASSWORD, "new_password": "n3w-password"}
    )
    assert svc.authenticate_token(token).id == merchant.id
    with pytest.raises(AuthenticationFailed):
        svc.authenticate_token(other_session)
    with pytest.raises(AuthenticationFailed):
        login(svc, email)
    assert login(svc, email, "n3w-password")[1].id == merchant.id


@pytest.mark.parametrize(
    "body,message",
    [
        ({"current_password": PASSWORD, "new_password": "short"}, "at least 8"),
        ({"current_password": PASSWORD, "new_password": "x" * 1025}, "at most 1024"),
        ({"current_password": PASSWORD}, "new_password"),
        ({"new_password": "n3w-password"}, "current_password is required"),
        ({"current_password": 5, "new_password": "n3w-password"}, "current_password"),
        ([], "object"),
    ],
)
def test_bad_password_changes_are_refused(body, message):
    svc = service()
    merchant, email = new_account(svc)
    with pytest.raises(BadRequest) as refused:
        svc.change_password(merchant, body)
    assert message in refused.value.description
    assert login(svc, email)[1].id == merchant.id


def test_concurrent_password_changes_leave_one_password():
    svc = service()
    merchant, email = new_account(svc)
    outcomes = {}

    def change(new):
        try:
            svc.change_password(merchant, {"current_password": PASSWORD, "new_password": new})
            outcomes[new] = "ok"
        except PaygateError as exc:
            outcomes[new] = exc.code

    threads = [threading.Thread(target=change, args=(f"password-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    working = [new for new in outcomes if _logs_in(svc, email, new)]  # the winner's only
    assert len(working) == 1 and outcomes[working[0]] == "ok"


def _logs_in(svc, email, password) -> bool:
    try:
        login(svc, email, password, address=f"203.0.113.{uuid.uuid4().int % 250}")
        return True
    except AuthenticationFailed:
        return False


def test_demo_sign_in_keeps_the_seeded_credentials_fixed():
    svc = service(demo=True)
    seeded = seeded_merchant()
    with pytest.raises(BadRequest) as refused:
        svc.roll_api_secret(seeded, None)
    assert "DEMO_LOGIN" in refused.value.description
    with pytest.raises(BadRequest):
        svc.change_password(seeded, {"current_password": "x", "new_password": "n3w-password"})
    assert svc.authenticate_api(seeded.api_key, "secret_test_xyz789").id == seeded.id
    token, _ = login(svc, seeded.email, "anything")
    svc.logout_everywhere(seeded)  # sessions can still be ended
    with pytest.raises(AuthenticationFailed):
        svc.authenticate_token(token)


# ---------------------------------------------------------------------------- limits
def test_five_failures_lock_the_account_even_for_the_right_password():
    svc = service()
    merchant, email = new_account(svc)
    for i in range(LOGIN_FAILURES):
        with pytest.raises(AuthenticationFailed):
            login(svc, email, "wrong-password", address=f"192.0.2.{i}")
    with pytest.raises(RateLimited) as refused:
        login(svc, email, PASSWORD, address="192.0.2.200")
    assert 1 <= refused.value.retry_after <= LOGIN_WINDOW_SECONDS
    # Another account is not affected.
    _, other = new_account(svc)
    assert login(svc, other, address="192.0.2.201")


def test_five_failures_from_one_address_lock_that_address_only():
    svc = service()
    _, email = new_account(svc)
    for _ in range(LOGIN_FAILURES):
        with pytest.raises(AuthenticationFailed):
            login(svc, f"{uuid.uuid4().hex}@example.com", "guess", address="198.51.100.99")
    with pytest.raises(RateLimited):
        login(svc, email, PASSWORD, address="198.51.100.99")
    assert login(svc, email, PASSWORD, address="198.51.100.100")


def test_wrong_current_passwords_count_as_failed_sign_ins():
    svc = service()
    merchant, email = new_account(svc)
    body = {"current_password": "guess-guess", "new_password": "n3w-password"}
    for _ in range(LOGIN_FAILURES):
        with pytest.raises(BadRequest):
            svc.change_password(merchant, body, "198.51.100.50")
    with pytest.raises(RateLimited):
        svc.change_password(merchant, {**body, "current_password": PASSWORD}, "198.51.100.51")
    with pytest.raises(RateLimited):
        login(svc, email, address="198.51.100.52")


@pytest.fixture
def slow_checks(monkeypatch):
    """verify_password, slowed to widen any race and counting its calls (red-team a16)."""
    from paygate import security

    real, checked = security.verify_password, []

    def slow(password, stored):
        checked.append(password)
        time.sleep(0.3)
        return real(password, stored)

    monkeypatch.setattr(security, "verify_password", slow)
    return checked


def _burst(attempt, count: int) -> list[str]:
    start = threading.Barrier(count)
    outcomes: list[str] = []

    def one(n):
        start.wait()
        try:
            attempt(n)
            outcomes.append("ok")
        except PaygateError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_concurrent_guesses_reach_the_password_check_at_most_the_limit(slow_checks):
    """a16: checked before the scrypt and counted after it, 20 simultaneous guesses were all
    checked. Now each is counted first: 5 are checked, 15 refused, the right password too."""
    svc = service()
    _, email = new_account(svc)
    slow_checks.clear()
    outcomes = _burst(lambda n: login(svc, email, f"guess-{n}", address="198.51.100.80"), 20)
    assert len(slow_checks) == LOGIN_FAILURES
    assert sorted(outcomes) == ["AUTHENTICATION_ERROR"] * 5 + ["RATE_LIMITED"] * 15
    with pytest.raises(RateLimited):
        login(svc, email, address="198.51.100.81")
    assert len(slow_checks) == LOGIN_FAILURES


def test_concurrent_wrong_current_passwords_are_checked_at_most_the_limit(slow_checks):
    svc = service()
    merchant, _ = new_account(svc)
    slow_checks.clear()
    body = {"new_password": "n3w-password"}
    outcomes = _burst(
        lambda n: svc.change_password(
            merchant, {**body, "current_password": f"guess-{n}"}, "198.51.100.82"
        ),
        12,
    )
    assert len(slow_checks) == LOGIN_FAILURES
    assert sorted(outcomes) == ["BAD_REQUEST_ERROR"] * 5 + ["RATE_LIMITED"] * 7


def test_a_right_password_gives_its_attempt_back():
    svc = service()
    _, email = new_account(svc)
    for _ in range(LOGIN_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            login(svc, email, "wrong-password", address="198.51.100.90")
    for _ in range(3):  # right passwords never use the budget up
        assert login(svc, email, address="198.51.100.90")
    with pytest.raises(AuthenticationFailed):
        login(svc, email, "wrong-password", address="198.51.100.90")
    with pytest.raises(RateLimited):
        login(svc, email, address="198.51.100.90")


def test_a_storage_failure_during_the_check_gives_the_attempt_back(monkeypatch):
    from paygate import security
    from paygate.errors import StorageUnavailable

    svc = service(failures=1)
    _, email = new_account(svc)

    def broken(password, stored):
        raise StorageUnavailable()

    monkeypatch.setattr(security, "verify_password", broken)
    for _ in range(3):
        with pytest.raises(StorageUnavailable):
            login(svc, email, address="198.51.100.95")
    monkeypatch.undo()
    assert login(svc, email, address="198.51.100.95")


def test_malformed_sign_ins_are_not_counted():
    svc = service()
    merchant, email = new_account(svc)
    for body in ({"email": email}, {"email": email, "password": ""}, {"password": "x"}, []):
        for _ in range(LOGIN_FAILURES + 1):
            with pytest.raises(BadRequest):
                svc.login(body, "198.51.100.60")
    assert login(svc, email, address="198.51.100.60")[1].id == merchant.id


def test_hostile_sizes_are_refused_without_a_lookup():
    svc = service()
    for email, password in (("a" * 3000 + "@example.com", "x"), ("a@example.com", "p" * 5000)):
        with pytest.raises(AuthenticationFailed):
            svc.login({"email": email, "password": password}, "198.51.100.70")


# ---------------------------------------------------------------------------- timing
def test_unknown_and_known_emails_take_the_same_time():
    """No timing oracle: a failed sign-in costs one scrypt and the same reads and writes
    whether the email exists or not. Medians of interleaved attempts, timed in this thread's CPU
    time: the work done (scrypt, the moto-served reads and writes) is what would differ, and
    wall time on a shared machine mostly measures the other processes."""
    svc = service(failures=10**6)
    _, known = new_account(svc)
    unknown = f"{uuid.uuid4().hex}@example.com"
    timings: dict[str, list[float]] = {known: [], unknown: []}
    for _ in range(2):  # warm both paths
        for email in timings:
            with pytest.raises(AuthenticationFailed):
                login(svc, email, "wrong-password")
    for _ in range(30):
        for email in timings:
            start = time.thread_time()
            with pytest.raises(AuthenticationFailed):
                login(svc, email, "wrong-password")
            timings[email].append(time.thread_time() - start)
    known_ms = statistics.median(timings[known]) * 1000
    unknown_ms = statistics.median(timings[unknown]) * 1000
    print(f"median failed sign-in: known {known_ms:.1f} ms, unknown {unknown_ms:.1f} ms")
    assert abs(known_ms - unknown_ms) < 5, (known_ms, unknown_ms)
    # Both pay for scrypt, not only the known one: counted, since a single timing of one
    # scrypt on a busy machine says little.
    from paygate import security

    calls = []
    real_scrypt = security.hashlib.scrypt

    def counting_scrypt(*args, **kwargs):
        calls.append(1)
        return real_scrypt(*args, **kwargs)

    for email in (known, unknown):
        calls.clear()
        security.hashlib.scrypt = counting_scrypt
        try:
            with pytest.raises(AuthenticationFailed):
                login(svc, email, "wrong-password")
        finally:
            security.hashlib.scrypt = real_scrypt
        assert len(calls) == 1, (email, len(calls))
