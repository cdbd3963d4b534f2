"""Code bundles for endpoints that run the functions themselves (MiniStack's `make run-stack`,
LocalStack): each code directory with its requirements.txt installed next to it, as
`sam build` does, zipped.

Differences from `sam build`, both deliberate:
- the versions are the project's pins (requirements.txt is passed to pip as constraints), so
  the functions run what the tests ran;
- what the Lambda Python runtime already provides (boto3 and botocore with their dependencies)
  is left out of the bundles, as on AWS the runtime's copy serves them: the bundles stay small,
  which matters where every execution environment unpacks them (MiniStack).

Installed dependencies are cached under .local/build by requirements, constraints and Python
version; zips by their whole content. A second deploy with unchanged code packs nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / ".local" / "build"
PLATFORM = "manylinux2014_x86_64"  # the template's Architectures: [x86_64]
RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "six",
)
SKIP_DIRS = {"__pycache__", ".chalice", ".pytest_cache"}
_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def constraints() -> str:
    """The project's pins (requirements.txt) as a pip constraints file (no extras allowed)."""
    lines = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = _PIN.match(line)
        if match:
            lines.append(f"{match.group(1)}=={match.group(3)}")
    return "\n".join(lines) + "\n"


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _files(directory: Path) -> list[Path]:
    return [
        f
        for f in sorted(directory.rglob("*"))
        if f.is_file() and not SKIP_DIRS.intersection(f.relative_to(directory).parts)
    ]


def tree_digest(directory: Path) -> str:
    """A digest of every file's path and bytes under `directory` (caches left out)."""
    parts: list[bytes | str] = []
    for f in _files(directory):
        parts += [str(f.relative_to(directory)), f.read_bytes()]
    return _digest(*parts)


def _prune_runtime_provided(target: Path) -> None:
    wanted = {name.lower().replace("-", "_") for name in RUNTIME_PROVIDED}
    for info in target.glob("*.dist-info"):
        name = info.name.split("-")[0].lower().replace("-", "_")
        if name not in wanted:
            continue
        record = info / "RECORD"
        for row in record.read_text().splitlines() if record.exists() else []:
            path = target / row.split(",")[0]
            if path.is_file():
                path.unlink()
        shutil.rmtree(info, ignore_errors=True)
    for directory in sorted(target.rglob("*"), reverse=True):  # now-empty package folders
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def dependencies(requirements: Path, python_version: str) -> Path:
    """A folder with `requirements` installed for Lambda (x86_64, `python_version`), cached."""
    pins = constraints()
    key = _digest(requirements.read_text(), pins, python_version, PLATFORM)
    target = BUILD / "deps" / key
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two deploys at once build it once
        if not (target / ".complete").exists():
            _install(requirements, pins, python_version, target)
    return target


def _install(requirements: Path, pins: str, python_version: str, target: Path) -> None:
    key = target.name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    constraint_file = target.parent / f"{key}.constraints.txt"
    constraint_file.write_text(pins)
    print(
        f"bundle: installing {requirements.relative_to(REPO)} for Python {python_version}",
        flush=True,
    )
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
            "-c",
            str(constraint_file),
            "--target",
            str(target),
            "--platform",
            PLATFORM,
            "--python-version",
            python_version,
            "--only-binary=:all:",
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        raise RuntimeError(f"pip could not bundle {requirements}:\n{installed.stderr[-3000:]}")
    _prune_runtime_provided(target)
    (target / ".complete").write_text("")


def zip_directory(directory: Path, prefix: str = "", extra: Path | None = None) -> bytes:
    """Zip a code directory (deterministic order and timestamps, caches left out), and the
    contents of `extra` (installed dependencies) next to it; `prefix` nests everything."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for root in (extra, directory):
            if root is None:
                continue
            for file in _files(root):
                relative = file.relative_to(root)
                if root is extra and relative.parts[0] == ".complete":
                    continue
                info = zipfile.ZipInfo(prefix + str(relative), date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (file.stat().st_mode & 0o777) << 16
                archive.writestr(info, file.read_bytes(), compresslevel=1)
    return buffer.getvalue()


def code_zip(directory: Path, prefix: str, python_version: str | None) -> bytes:
    """The zip for one CodeUri/ContentUri: the code alone, or (with `python_version`) bundled
    with its requirements.txt. Bundles are cached by content."""
    requirements = directory / "requirements.txt"
    if python_version is None or not requirements.exists():
        return zip_directory(directory, prefix)
    deps = dependencies(requirements, python_version)
    key = _digest(deps.name, tree_digest(directory), prefix)
    cached = BUILD / "zips" / f"{directory.name}-{key}.zip"
    if cached.exists():
        return cached.read_bytes()
    body = zip_directory(directory, prefix, extra=deps)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(body)
    return body
