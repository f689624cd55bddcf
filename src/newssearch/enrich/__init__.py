"""Enrichment at index time: what an article is about (sections, user topics) and who it names."""
