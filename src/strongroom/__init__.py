"""Strongroom: a privacy vault."""
