"""The what-if page in the browser (``cocoon-econ app``), a Dash app on the package's own functions.

:mod:`~analysis.app.state` (the inputs as text, the scenario and the URL; no Dash),
:mod:`~analysis.app.answers` (the numbers, from :mod:`analysis.econ` and :mod:`analysis.sim`;
no Dash), :mod:`~analysis.app.figures`, :mod:`~analysis.app.layout`,
:mod:`~analysis.app.callbacks` and :mod:`~analysis.app.server` (Dash). Dash is the optional
extra ``app``: ``pip install 'cocoon-econ[app]'``.
"""
