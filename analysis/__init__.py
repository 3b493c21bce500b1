"""cocoon-econ: economics of serving AI inference on COCOON (TON) and Render.

Data flows one way, each layer importing only those below it (the import-linter contract in
``pyproject.toml``): ``core`` < ``sources`` < ``market`` < ``econ`` < ``sim`` < ``chain`` <
``report`` < ``cli``.
"""

__version__ = "0.1.0"
