"""AWS Bedrock: the Converse and ConverseStream APIs, SigV4-signed."""

from routerx.providers.bedrock.provider import BedrockProvider

__all__ = ["BedrockProvider"]
