"""Folders: one per skin problem of a patient; the record keeps its image count and template."""
