"""Shared code of the IPTV audience pipeline: configuration and the local data-platform stack."""
