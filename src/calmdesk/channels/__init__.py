"""Channels customers write through: email in and out (chat and webhooks later)."""
