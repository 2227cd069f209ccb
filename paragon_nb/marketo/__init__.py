"""Marketo REST client: auth, limits, retries, batching, resources. Never imports the sandbox."""
