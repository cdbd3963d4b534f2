"""Use cases: the logic behind every route and worker, free of HTTP, Chalice and SQS events."""
