"""Front adapters: one per API surface, translating it to and from the canonical chat model."""
