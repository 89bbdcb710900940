"""The pages (``pages``: map, district karte, ward, siting) and PDF downloads (``pdf``).

Each view parses its request, calls one function and renders: :mod:`.context` assembles a page from
:mod:`karte.layers` for the active language, :mod:`.forms` checks what a form posts, :mod:`.errors`
turns the read side's ``ParameterError`` into a 400 or 404.
"""
