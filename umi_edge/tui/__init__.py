"""``umi-edge chat``: the Textual terminal UI of the three-role agent.

Layout: :mod:`.app` (the App: bindings, command palette, the agent worker), :mod:`.screens` (chat, approval modal,
help, sessions), :mod:`.widgets` (conversation blocks, prompt input, status bar), :mod:`.messages` (the typed
messages the worker posts), :mod:`.backend` (bundle, tools and agent glue), :mod:`.slash` (slash commands).
Styles live next to each module in ``.tcss`` files.
"""
