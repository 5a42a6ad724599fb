"""calmdesk: a helpdesk for the hardest part of customer service."""

__version__ = "0.1.0"
