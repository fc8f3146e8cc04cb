"""The Anthropic Messages surface (`/v1/messages`, `/v1/messages/count_tokens`) on both providers."""
