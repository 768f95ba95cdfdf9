"""Checks of the infrastructure as code (infra/, azure.yaml, scripts/deploy.sh)."""
