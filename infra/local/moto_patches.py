"""Two adjustments that make moto behave like AWS for Paygate's local runtime and tests."""

from __future__ import annotations

from moto.sqs import models as sqs_models

_original_init = sqs_models.Queue.__init__
_original_wait = sqs_models.Queue.wait_for_messages


class _PolledElsewhere(dict):
    """moto invokes a queue's Lambda itself on every SendMessage (through Docker, which is
    absent here), receiving — and so counting towards the DLQ — every visible message. Here the
    local pollers play the Lambda service's part, so queues keep no mappings of their own."""

    def __setitem__(self, key, value) -> None:
        return None


def _init(self, *args, **kwargs) -> None:
    _original_init(self, *args, **kwargs)
    self.lambda_event_source_mappings = _PolledElsewhere()


def _prompt_wait(self, timeout):
    # moto's long poll sleeps up to 1 s on a condition that only a *new* message wakes, so a
    # delayed message that becomes visible is seen up to a second late. Re-checking every 20 ms
    # keeps the simulated bank time (SQS DelaySeconds) exact without giving up long polling.
    return _original_wait(self, min(timeout, 0.02))


def apply() -> None:
    """Patch moto's SQS models (idempotent)."""
    sqs_models.Queue.__init__ = _init
    sqs_models.Queue.wait_for_messages = _prompt_wait
