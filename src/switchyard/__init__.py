"""Switchyard: a self-hosted API gateway for Google consumer AI backends."""
