"""The OpenAI chat dialect on Antigravity: `POST /antigravity/v1/chat/completions`.

`routes` parses and admits, `protocol` checks the wire body, `service` fetches media, translates
(`switchyard.translate`), calls the pool and streams; `images` crops generated images to the exact
ratio a client asked for.
"""
