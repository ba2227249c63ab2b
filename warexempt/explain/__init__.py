"""Reasons as citations (ru/en) and plain-language explanations, through Babel message catalogs."""
