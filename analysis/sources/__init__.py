"""One module per remote API. Each offers ``get_<source>_<what>`` (network) and
``parse_<source>_<what>`` (payload -> tidy DataFrame); all share :mod:`analysis.sources.http`."""
