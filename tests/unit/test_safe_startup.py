"""What a deployed process refuses before it serves anything, and what it never reads twice:
unsafe settings outside local mode, API keys of the wrong shape, scrypt for every failed
sign-in, the test endpoints outside test mode, and /health's control-plane reading."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from paygate import security
from paygate.errors import AuthenticationFailed
from paygate.services.health import (
    CONTROL_PLANE_TTL_SECONDS,
    TEST_MODE_CONTROL_PLANE_TTL_SECONDS,
    HealthService,
)
from paygate.services.merchants import MerchantService
from paygate.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[2]
GOOD_SECRET = "s" * 32


# ---------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    "env,problem",
    [
        ({"AUTH_TOKEN_SECRET": ""}, "AUTH_TOKEN_SECRET must be at least 32 bytes"),
        ({"AUTH_TOKEN_SECRET": "s" * 31}, "AUTH_TOKEN_SECRET must be at least 32 bytes"),
        ({"AUTH_TOKEN_SECRET": GOOD_SECRET, "DEMO_LOGIN": "true"}, "DEMO_LOGIN=true"),
        (
            {"AUTH_TOKEN_SECRET": GOOD_SECRET, "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"},
            "WEBHOOK_ALLOW_PRIVATE_TARGETS=true",
        ),
    ],
)
def test_unsafe_settings_are_refused_outside_local_mode(env, problem):
    for local_mode in ("false", None):  # LOCAL_MODE false or unset: a deployed process
        full = {**env, **({"LOCAL_MODE": local_mode} if local_mode else {})}
        with pytest.raises(SettingsError) as refused:
            Settings.from_env(full)
        assert problem in str(refused.value)
        assert "LOCAL_MODE=false" in str(refused.value)
    # A laptop may run them all.
    assert Settings.from_env({**env, "LOCAL_MODE": "true"}).local_mode


def test_every_problem_is_named_at_once():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {"AUTH_TOKEN_SECRET": "short", "DEMO_LOGIN": "1", "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1"}
        )
    message = str(refused.value)
    assert "AUTH_TOKEN_SECRET" in message and "DEMO_LOGIN" in message
    assert "WEBHOOK_ALLOW_PRIVATE_TARGETS" in message


def test_a_safe_deployed_configuration_is_accepted():
    settings = Settings.from_env({"AUTH_TOKEN_SECRET": "é" * 16})  # 32 bytes in UTF-8
    assert not settings.demo_login and not settings.webhook_allow_private_targets
    # A worker has no token key at all (it signs nothing): nothing to refuse.
    assert Settings.from_env({}).auth_token_secret == ""
    assert Settings.from_env({"WEBHOOK_ALLOW_PRIVATE_TARGETS": "false"}) is not None


def _import_api(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("LOCAL_MODE", "AUTH_TOKEN_SECRET")}
    pythonpath = os.pathsep.join(str(REPO / p) for p in ("layers/shared", "functions/api"))
    return subprocess.run(
        [sys.executable, "-c", "import app"],
        env={**clean, "PYTHONPATH": pythonpath, "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO / "functions" / "api",
    )


def test_the_api_function_refuses_to_cold_start_without_a_token_key():
    refused = _import_api({"LOCAL_MODE": "false"})
    assert refused.returncode != 0
    assert "SettingsError" in refused.stderr and "AUTH_TOKEN_SECRET" in refused.stderr
    started = _import_api({"LOCAL_MODE": "false", "AUTH_TOKEN_SECRET": GOOD_SECRET})
    assert started.returncode == 0, started.stderr


# ---------------------------------------------------------------------------- passwords
@pytest.mark.parametrize(
    "stored", [None, "", "bcrypt$xx", "scrypt$nothex$00", "scrypt$00", "scrypt$a$b$c"]
)
def test_a_missing_or_unusable_hash_still_costs_one_scrypt(monkeypatch, stored):
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    assert security.verify_password("any password", stored) is False
    assert len(calls) == 1


def test_the_no_password_hash_matches_nothing():
    for guess in ("", "password", "0" * 32):
        assert not security.verify_password(guess, None)


# ---------------------------------------------------------------------------- API keys
@pytest.mark.parametrize(
    "key,ok",
    [
        ("key_test_abc123", True),
        ("key_live_" + "ab12" * 6, True),
        ("key_live_" + "a" * 64, True),
        ("key_live_" + "a" * 65, False),
        ("key_test_abc123 ", False),
        ("key_test_abc#123", False),
        ("KEY_TEST_abc123", False),
        ("secret_test_xyz789", False),
        ("key_test_" + "é", False),
        ("k" * 3000, False),
        ("", False),
        (None, False),
    ],
)
def test_api_key_shape(key, ok):
    assert security.api_key_has_shape(key) is ok


class RecordingRepo:
    def __init__(self) -> None:
        self.reads: list[str] = []

    def get_by_api_key(self, api_key, max_age=0):
        self.reads.append(api_key)
        return None


@pytest.mark.parametrize(
    "key,secret",
    [
        ("k" * 3000, "secret_test_xyz789"),  # over DynamoDB's 2 KB key limit: a 500 before
        ("key_test_abc123\x00", "secret_test_xyz789"),
        ("key_test_abc123", "s" * 129),
    ],
)
def test_misshapen_credentials_are_refused_without_a_read(key, secret):
    repo = RecordingRepo()
    service = MerchantService(repo, Settings(auth_token_secret=GOOD_SECRET), login_limits=None)
    with pytest.raises(AuthenticationFailed):
        service.authenticate_api(key, secret)
    assert repo.reads == []
    repo.reads.clear()
    with pytest.raises(AuthenticationFailed):
        service.authenticate_api("key_test_abc123", "secret_test_xyz789")
    assert repo.reads == ["key_test_abc123"]  # a well-shaped key is looked up


# ---------------------------------------------------------------------------- /health
class CountingLambda:
    def __init__(self, state: str = "Enabled") -> None:
        self.calls = 0
        self.state = state

    def list_event_source_mappings(self, FunctionName):  # noqa: N803 - boto3's naming
        self.calls += 1
        return {"EventSourceMappings": [{"State": self.state}]}


def health_service(client, clock, test_mode: bool = False) -> HealthService:
    settings = Settings(worker_functions=("pay", "refund", "hook"), test_mode=test_mode)
    return HealthService(
        counters=None, queues=[], settings=settings, lambda_client=lambda: client, monotonic=clock
    )


def test_the_control_plane_is_read_at_most_once_a_minute():
    client, now = CountingLambda(), [1000.0]
    health = health_service(client, lambda: now[0])
    assert all(health.worker_running() for _ in range(50))
    assert client.calls == 3  # one reading: one call per worker function
    now[0] += CONTROL_PLANE_TTL_SECONDS - 0.5
    client.state = "Disabled"
    assert health.worker_running()  # still the reading of a minute ago
    assert client.calls == 3
    now[0] += 0.5
    assert not health.worker_running()  # a new reading sees the disabled mapping
    assert client.calls == 4  # stops at the first disabled function
    assert not health.worker_running() and client.calls == 4


def test_in_test_mode_the_reading_lasts_a_second():
    client, now = CountingLambda(), [1000.0]
    health = health_service(client, lambda: now[0], test_mode=True)
    assert health.worker_running() and health.worker_running()
    assert client.calls == 3
    client.state = "Disabled"
    now[0] += TEST_MODE_CONTROL_PLANE_TTL_SECONDS
    assert not health.worker_running()


def test_a_failed_reading_is_not_retried_within_the_minute():
    class Failing(CountingLambda):
        def list_event_source_mappings(self, FunctionName):  # noqa: N803
            self.calls += 1
            raise ConnectionError("throttled")

    client, now = Failing(), [0.0]
    health = health_service(client, lambda: now[0])
    assert not any(health.worker_running() for _ in range(20))
    assert client.calls == 1


def test_concurrent_health_checks_share_one_reading():
    import threading

    client = CountingLambda()
    health = health_service(client, lambda: 5.0)
    threads = [threading.Thread(target=health.worker_running) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.calls == 3


# ---------------------------------------------------------------------------- test endpoints
@pytest.mark.parametrize(
    "test_mode,local_mode,status", [(False, False, 404), (True, False, 200), (False, True, 200)]
)
def test_test_endpoints_exist_only_in_test_or_local_mode(
    monkeypatch, test_mode, local_mode, status
):
    from app import app
    from chalice.test import Client

    from chalicelib import http
    from chalicelib.routes import system

    settings = Settings(test_mode=test_mode, local_mode=local_mode)
    merchant = SimpleNamespace(id="m", email="test@example.com", api_key="key_test_abc123")
    fake = SimpleNamespace(
        settings=settings,
        merchants=SimpleNamespace(test_merchant=lambda: merchant),
        health=SimpleNamespace(jobs_status=lambda: {"pending": 0}),
    )
    monkeypatch.setattr(system, "services", lambda: fake)
    monkeypatch.setattr(http, "services", lambda: fake)
    with Client(app) as client:
        for path in ("/api/v1/test/merchant", "/api/v1/test/jobs/status"):
            response = client.http.get(path)
            assert response.status_code == status, (path, response.body)
            if status == 404:
                assert response.json_body["error"] == {
                    "code": "NOT_FOUND_ERROR",
                    "description": "No such endpoint or method",
                }
