"""Helpers at the paths Prefect 1 kept them (``prefect.utilities``)."""
