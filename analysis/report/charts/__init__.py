"""Plotly figures, one function per figure, one module per area. Every chart has a
title, axis labels with units and hover text; functions take tidy data and return
a :class:`plotly.graph_objects.Figure`."""
