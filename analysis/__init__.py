"""cocoon-econ: economics of serving AI inference on COCOON (TON) and Render.

Data flows one way: sources -> store -> series -> model -> strategies -> metrics
-> charts / report / cli. Lower layers never import upper ones.
"""

__version__ = "0.1.0"
