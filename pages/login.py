"""Login page: sign-in with OAuth 2.0 / OpenID Connect."""

import streamlit as st

from ui.chrome import page_frame

page_frame()

st.title("Login")
st.write("Here you will sign in with OAuth 2.0 / OpenID Connect (authorization code with PKCE). The verified "
         "ID token becomes the agent's inbound identity: who it acts for.")
