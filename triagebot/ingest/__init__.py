"""Readers for mailing-list archives and chat exports; they translate raw mail into our own types."""
