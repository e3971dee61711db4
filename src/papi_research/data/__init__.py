"""Data: read and validate what the analysis stands on.

``loader`` reads the PAPI scores (:class:`~papi_research.data.loader.PapiData`), ``companion`` the
companion panels, ``codebook`` and ``provinces`` the packaged reference tables, ``i18n`` the
bilingual catalogue of every sentence a briefing prints; ``paths``, ``files`` (the one atomic
writer), ``hashing``, ``values`` and ``text`` are the small helpers they share. Nothing here imports
from ``analysis``, ``briefing``, ``pipeline`` or ``render``.
"""
