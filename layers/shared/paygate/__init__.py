"""Paygate's shared code: domain rules, storage, queues and the use cases behind every function."""
