import os

# The SAM transform builds ARNs for a region; any region will do for a contract test.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
