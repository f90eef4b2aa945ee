"""``umi-edge serve``: an OpenAI-compatible HTTP API over the α-UMi roles (issue 18).

- :mod:`.mapping`: OpenAI chat requests ⇄ α-UMi turns and client tools (pure, no HTTP).
- :mod:`.step`: one α-UMi step for a client-driven conversation (planner, then caller or summarizer).
- :mod:`.app`: the Starlette app: routes, API key, the bounded queue, streaming, OpenAI-shaped errors.
"""
