"""The Azure side: emulated Entra directory, enterprise apps and the provisioning engine."""
