"""The SCIM Validator: Microsoft's gallery-readiness checks against any SCIM endpoint, run with
the provisioning service's one outbound SCIM client (docs/scim-validator.md)."""
