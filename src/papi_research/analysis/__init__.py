"""Analysis: every number a briefing prints is computed here, from :mod:`papi_research.data` only.

``scores`` (totals, ranks, quartile groups) is the base; ``uncertainty`` (survey intervals),
``units`` (estimates for the 34 provinces of 2025), ``change`` (what moved the score), ``variance``,
``models`` and ``diagnostics`` (score drivers), ``priorities``, ``targets`` and ``drivers`` (one
report per province and year) build on it; ``notes`` holds the data notes they return and
``report`` the plain-text summaries the CLI prints. Nothing here draws, renders or runs notebooks.
"""
