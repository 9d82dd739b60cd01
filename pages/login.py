"""Login page: sign-in with OAuth 2.0 / OpenID Connect (authorization code with PKCE), and sign-out."""

import streamlit as st

from ui.chrome import core_frame

core = core_frame()  # while the server still starts, the page says so here and reruns by itself

from ui.signin import render_login  # noqa: E402  # only now: sign-in's modules are not needed to say "starting"

st.title("Login")
st.write("Sign in with OAuth 2.0 / OpenID Connect (authorization code with PKCE). The verified ID token becomes "
         "the agent's inbound identity: who it acts for.")
render_login(core)
