"""`paygate`: the developer's command line for a Paygate API (local or deployed).

A thin client: `requests` against the public API with the merchant's key and secret, and the
project's own signing module (`paygate.signing`) for the webhooks it forwards. No server code.
"""
