"""What the CLI's unit tests stand in for `requests` answers with."""

from __future__ import annotations

import json


class Answer:
    """A `requests.Response` as far as the CLI reads one: status, JSON body, text."""

    def __init__(self, status: int, body: dict) -> None:
        self.status_code, self._body, self.text = status, body, json.dumps(body)

    def json(self):
        return self._body
