"""Pipeline: run the briefing notebooks for many provinces, in parallel, cached, with a manifest.

``plan`` plans a run (``plan_run``) and ``run`` executes it (``execute_plan``); ``scopes`` adds the
new-province and national scopes; ``jobs`` is what a worker does for one notebook; ``kernel`` the
warm Jupyter kernel it runs in (``warmup`` is the code that runs inside that kernel) and ``engine``
the papermill engine over it; ``executors`` spread jobs over processes or a Dask cluster;
``transfer`` moves a job's files between machines; ``manifest`` records provenance. Imports
``render``, ``briefing``, ``analysis`` and ``data``; only the CLI imports this package.
"""
