"""SCIM 2.0 service provider for Elium tenants (RFC 7643/7644), at ``<tenant URL>/scim/v2``."""
