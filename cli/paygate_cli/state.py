"""Where `paygate listen` keeps its place: one small JSON file per (API URL, API key) under the
user's config directory, holding the session secret, the newest event seen and the ids seen
recently. Written atomically (a crash leaves the old file or the new one, never half of one)
and readable by the user only (it holds the session secret)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def config_dir(env: dict[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/paygate` (`~/.config/paygate`), or `%APPDATA%\\paygate` on Windows."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or (env.get("APPDATA") if os.name == "nt" else None)
    return Path(base) / "paygate" if base else Path.home() / ".config" / "paygate"


def state_path(api_url: str, api_key: str, directory: Path | None = None) -> Path:
    """The state file of one (API URL, API key): listening to two stacks never mixes them."""
    digest = hashlib.sha256(f"{api_url.rstrip('/')}\n{api_key}".encode()).hexdigest()[:20]
    return (directory or config_dir()) / f"listen-{digest}.json"


def new_session_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class ListenState:
    secret: str
    high_water: str | None = None  # created_at of the newest event seen
    seen: dict[str, str] = field(default_factory=dict)  # event id -> created_at, recent only

    def to_json(self) -> dict:
        return {"secret": self.secret, "high_water": self.high_water, "seen": self.seen}

    @classmethod
    def from_json(cls, data: object) -> ListenState | None:
        if not isinstance(data, dict) or not isinstance(data.get("secret"), str):
            return None
        seen = data.get("seen") if isinstance(data.get("seen"), dict) else {}
        high_water = data.get("high_water")
        return cls(
            secret=data["secret"],
            high_water=high_water if isinstance(high_water, str) else None,
            seen={k: v for k, v in seen.items() if isinstance(k, str) and isinstance(v, str)},
        )


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> ListenState | None:
        """The saved state, or None when there is none (or it is unreadable)."""
        try:
            return ListenState.from_json(json.loads(self.path.read_text()))
        except (OSError, ValueError):
            return None

    def save(self, state: ListenState) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".listen-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(state.to_json(), handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
