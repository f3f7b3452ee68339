"""Exports for papers and for other tools: coded excerpts, tables, figures, REFI-QDA."""
