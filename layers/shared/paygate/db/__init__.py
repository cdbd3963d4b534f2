"""Repositories: the only code that touches PynamoDB or boto3 for DynamoDB."""
