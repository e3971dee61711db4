"""Briefing documents: what a notebook builds and shows, in one language.

``base`` holds what every document shares (sections, blocks, the briefing record, showing figures
and sections in a notebook); ``province``, ``unit`` (the 34 provinces of 2025) and ``national`` are
the three documents; ``figures`` and ``maps`` draw in the house style; ``display`` turns a section
into notebook outputs. Imports :mod:`papi_research.analysis` and :mod:`papi_research.data`, never
``pipeline`` or ``render``.
"""
