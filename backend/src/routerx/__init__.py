"""RouterX: a provider-agnostic LLM/VLM gateway."""

__version__ = "0.1.0"
