"""What a Lambda sandbox gives a handler: the function's environment, its module and a context."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYER_DIR = REPO / "layers" / "shared"


def function_env(config: dict, endpoint: str) -> dict[str, str]:
    """The environment Lambda would give the function, pointed at the local endpoint.

    PYTHONPATH holds the layer and the function's code, as /opt/python and /var/task do."""
    env = {k: str(v) for k, v in config.get("Environment", {}).get("Variables", {}).items()}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_LAMBDA_FUNCTION_NAME": config["FunctionName"],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.get("MemorySize", 128)),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(config.get("Timeout", 3)),
        }
    )
    return env


def load_handler(code_dir: Path, handler: str):
    """Import `module.attr` from a function's code directory under a unique module name."""
    module_name, attr = handler.rsplit(".", 1)
    unique = f"lambda_{code_dir.name}_{module_name}"
    spec = importlib.util.spec_from_file_location(unique, code_dir / f"{module_name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    spec.loader.exec_module(module)
    return getattr(module, attr)


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and Chalice read."""

    function_name: str
    timeout_seconds: int = 10
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
