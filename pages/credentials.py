"""Credentials page: the identities and credentials the agent holds for you."""

import streamlit as st

from ui.chrome import page_frame

page_frame()

st.title("Credentials")
st.write("Here you will see your inbound identity, the agent's workload identity and every outbound credential "
         "(OAuth2 token, API key, STS) with its status, scopes and expiry, plus pending consents and an "
         "activity log.")
