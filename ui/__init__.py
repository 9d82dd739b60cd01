"""Streamlit glue and the pages' view models, nothing else.

`runtime` (the process-wide runtime: settings, clients, broker, database), `chrome` (sidebar and error display),
`signin` and `sign_out` (who is signed in, the Login page's flow), and the pure view models the pages draw:
`chat_view`, `credentials_view`, `inspect_view`, `timeline_view`, `setup_view`.
"""
