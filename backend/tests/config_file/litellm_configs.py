"""LiteLLM proxy configs as LiteLLM's documentation writes them (proxy/configs, reliability,
load_balancing): several providers, Azure deployments, load-balanced deployments of one model
name, fallbacks and context-window fallbacks, a master key."""

from __future__ import annotations

AZURE_AND_FALLBACKS = """\
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-eu
      api_base: {azure_eu}
      api_key: os.environ/AZURE_API_KEY_EU
      api_version: "2024-02-15-preview"
      rpm: 6
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-ca
      api_base: {azure_ca}
      api_key: os.environ/AZURE_API_KEY_CA
      api_version: "2024-02-15-preview"
      rpm: 6
  - model_name: backup-llm
    litellm_params:
      model: openai/facebook/opt-125m
      api_base: {compatible}/v1
      api_key: os.environ/VLLM_API_KEY
      temperature: 0.2
router_settings:
  routing_strategy: simple-shuffle
  num_retries: 2
  timeout: 30
  fallbacks: [{"gpt-4o": ["backup-llm"]}]
litellm_settings:
  drop_params: true
  context_window_fallbacks: [{"gpt-4o": ["backup-llm"]}]
  success_callback: ["langfuse"]
general_settings:
  master_key: sk-1234
  database_url: os.environ/DATABASE_URL
"""

SEVERAL_PROVIDERS = """\
model_list:
  - model_name: gpt-4.1-mini
    litellm_params:
      model: openai/gpt-4.1-mini
      api_key: os.environ/OPENAI_API_KEY
    model_info:
      supports_vision: true
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20240620
      api_key: os.environ/ANTHROPIC_API_KEY
      timeout: 60
  - model_name: gemini-pro
    litellm_params:
      model: gemini/gemini-1.5-pro
      api_key: os.environ/GEMINI_API_KEY
  - model_name: llama3
    litellm_params:
      model: ollama/llama3
      api_base: http://localhost:11434
  - model_name: mixtral
    litellm_params:
      model: groq/mixtral-8x7b-32768
      api_key: os.environ/GROQ_API_KEY
  - model_name: embeddings
    litellm_params:
      model: azure/text-embedding-ada-002
      api_base: https://my-endpoint-europe-berri-992.openai.azure.com
      api_key: os.environ/AZURE_API_KEY
      api_version: "2023-07-01-preview"
    model_info:
      mode: embedding
  - model_name: bedrock-claude
    litellm_params:
      model: bedrock/anthropic.claude-3-sonnet-20240229-v1:0
      aws_region_name: us-east-1
  - model_name: literal-key
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-literal-do-not-copy
litellm_settings:
  default_fallbacks: ["claude-sonnet"]
  request_timeout: 600
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
environment_variables:
  REDIS_HOST: localhost
"""
