"""Cross-process breaker state: the Redis store and the loop that syncs with it."""
