"""The demo organisation: hand-written conversations loaded through the real services.

A plain package, not a Django app: it owns no models, only data files and the
function that loads them (`calmdesk.demo.services.demo_load`).
"""
