"""Benchmarks: TBAL against its baselines, the paper's published numbers and the oracle limit.

``surelabel bench unit-ball|digits|fashion-mnist|20newsgroups`` (see :mod:`surelabel.bench.cli`).

* :mod:`~surelabel.bench.runner` — settings, seeds, parallel runs, summaries;
* :mod:`~surelabel.bench.datasets` — the unit ball and the real data sets (no downloads);
* :mod:`~surelabel.bench.oracle` — the oracle-threshold coverage;
* :mod:`~surelabel.bench.paper_numbers` — the paper's unit-ball tables as data;
* :mod:`~surelabel.bench.plots` — matplotlib figures (the ``plot`` extra).

Importing this package is cheap: nothing heavy is imported until a bench runs.
"""
