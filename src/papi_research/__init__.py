"""papi-research: PAPI scorecards, score drivers and provincial briefings.

Data flows one way: ``data`` (load and validate) → ``scores`` (totals, ranks, groups) →
``analysis`` modules (``change``, ``variance``, ``models``, ``priorities``, ``targets``) →
notebooks executed by ``runner`` → briefings made by ``render`` → index built by ``site``.
"""

__version__ = "0.1.0"
