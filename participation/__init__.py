"""Workshops where residents add what they know to their district's karte: resources, voices and
ひろば proposals, moderated by a facilitator, then shown on the district page, the printed karte, the
API and exports, and — for a place that could host a ひろば — fed into the siting.

An app of its own beside ``karte``: it reads karte's public functions (``karte.layers``,
``karte.importers.contributed``) and registers what it adds through ``karte.layers.extensions``;
karte never imports it. See docs/participation.md.
"""
