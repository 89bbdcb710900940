"""Printable district karte: A4 PDFs rendered server-side (WeasyPrint + matplotlib), no browser and
no internet needed."""
