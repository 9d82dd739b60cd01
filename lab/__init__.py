"""The attack lab of the Inspect page: attacks on the app's identity flows, run for real against localcloud.

`attacks` holds the scenarios (each its own HTTP clients, its own small return app and broker, and the check that
says blocked or not); `demo_browser` is the demo users' scripted browser for localcloud's sign-in and consent forms.
Nothing here is Streamlit: the page only draws what a scenario returns.
"""
