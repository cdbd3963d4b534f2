"""How every browser test starts Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import os
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
EXECUTABLE = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling hosts this closed network
# refuses; sandboxing needs a user namespace the root-run CI does not give.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The stack, the browser and the test share two cores: allow assertions time on a busy machine.
EXPECT_TIMEOUT_MS = 15_000
