"""Writes of the SCIM API. Every service takes the tenant explicitly and runs in one
transaction: a request applies completely or not at all."""
