"""The attack lab of the Inspect page: attacks on the app's identity flows, run for real against localcloud.

`attacks` holds the scenarios (each its own HTTP clients, its own small return app and broker, and the check that
says blocked or not); `browser` is the one scripted browser for localcloud's sign-in and consent forms (the tests
and benchmarks use it too); `demo_users` signs a demo user in with it, as the Login page does.
Nothing here is Streamlit: the page only draws what a scenario returns.
"""
