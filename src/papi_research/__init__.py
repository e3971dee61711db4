"""papi-research: PAPI scorecards, score drivers and provincial briefings.

Data flows one way, one subpackage per step: ``data`` (load and validate) → ``analysis`` (scores,
ranks, groups, change, models, priorities, targets) → ``briefing`` (the documents a notebook builds
and shows) → notebooks executed by ``pipeline`` → briefings made by ``render`` → index built by
``render.site``. A module imports only from its own layer and those before it (``tests/test_layers.py``).
"""

__version__ = "0.1.0"
