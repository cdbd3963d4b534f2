"""Seed the test merchant (CONTRACT §1) into a deployed stack: the step after every deploy of
`make run` and `make run-stack`. Started by the runtime with the API function's environment
(table names and settings as the stack gave them), so it writes exactly where the API reads."""

from __future__ import annotations


def main() -> None:
    from paygate.wiring import services

    created = services().merchants.seed_test_merchant()
    print(f"seed: test merchant {'created' if created else 'already there'}", flush=True)


if __name__ == "__main__":
    main()
