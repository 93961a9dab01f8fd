"""Helpers under the module paths Prefect 1 gave them (``prefect.utilities...``)."""
