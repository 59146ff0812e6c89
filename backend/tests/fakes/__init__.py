"""Fake upstream providers on real 127.0.0.1 ports, speaking each provider's wire format.

- `upstream.Scenario` / `ToolCallSpec`: how a fake answers (fail with a status and Retry-After,
  delay, hang, stall mid-stream, reset the connection, error event inside a 200 stream).
- `openai_server.FakeOpenAI` (also Azure deployment URLs), `anthropic_server.FakeAnthropic`,
  `gemini_server.FakeGemini`, `image_server.FakeImageHost`.
- `fixtures`: pytest fixtures (`openai_fake`, `anthropic_fake`, `gemini_fake`, `image_host`,
  `forbidden_image_host`): one server per session, reset before each test. Import the ones you
  need into a conftest.py.
"""
