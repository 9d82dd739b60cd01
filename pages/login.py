"""Login page: sign-in with OAuth 2.0 / OpenID Connect (authorization code with PKCE), and sign-out."""

import streamlit as st

from ui.chrome import page_frame
from ui.signin import render_login

runtime = page_frame()

st.title("Login")
st.write("Sign in with OAuth 2.0 / OpenID Connect (authorization code with PKCE). The verified ID token becomes "
         "the agent's inbound identity: who it acts for.")
render_login(runtime)
