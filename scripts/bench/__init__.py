"""`make bench`: RouterX against the LiteLLM proxy in front of one fast mock upstream."""
