"""Stored raw email, attachments and outbound delivery state."""
