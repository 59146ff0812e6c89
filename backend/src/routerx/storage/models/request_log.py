"""The request log: metadata only, never prompt, response or image content."""

from typing import Any

from tortoise import fields
from tortoise.models import Model


class RequestLog(Model):
    id = fields.BigIntField(primary_key=True)
    request_id = fields.CharField(max_length=64, db_index=True)
    created_at = fields.DatetimeField(db_index=True)
    tenant_id = fields.IntField(null=True, db_index=True)
    key_id = fields.IntField(null=True)
    model = fields.CharField(max_length=200, default="")
    capability = fields.CharField(max_length=32, default="text")
    # The API surface the request came in on: chat, responses, messages, embeddings.
    api = fields.CharField(max_length=32, default="chat")
    provider = fields.CharField(max_length=100, null=True, db_index=True)
    upstream_model = fields.CharField(max_length=200, null=True)
    rule = fields.CharField(max_length=100, null=True)
    attempts: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    fallback = fields.BooleanField(default=False)
    stream = fields.BooleanField(default=False)
    status = fields.IntField(db_index=True)
    error_type = fields.CharField(max_length=64, null=True)
    latency_ms = fields.FloatField(default=0)
    ttft_ms = fields.FloatField(null=True)
    prompt_tokens = fields.IntField(default=0)
    completion_tokens = fields.IntField(default=0)
    total_tokens = fields.IntField(default=0)
    trace_id = fields.CharField(max_length=32, null=True)
    # The client's own x-request-id (not unique: a client may send it again when it retries).
    client_request_id = fields.CharField(max_length=64, null=True, db_index=True)
    cached_tokens = fields.IntField(default=0)
    cache_write_tokens = fields.IntField(default=0)
    reasoning_tokens = fields.IntField(default=0)
    # Picodollars (1e-12 USD): an exact integer that SUM()s exactly; null when unpriced.
    cost_picousd = fields.BigIntField(null=True)
    cost_estimated = fields.BooleanField(default=False)
    budget_action = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "request_logs"
