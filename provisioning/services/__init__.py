"""Writes of the Azure side, as ``<entity>_<action>`` functions with keyword-only arguments."""
