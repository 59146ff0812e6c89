"""What every layer shares (the request-log row, the configuration snapshot, the clock,
bounded stops for background tasks).

They import nothing from routing, storage or the gateway, so any of those may import them.
"""
