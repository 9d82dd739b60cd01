"""Chat page: the Qwen agent and its tool calls."""

import streamlit as st

from ui.chrome import page_frame
from ui.signin import require_user

page_frame()

st.title("Chat")
require_user()
st.write("Here you will talk to the Qwen agent. Each tool call will show which credential it used, and a "
         "consent prompt will appear inline when a tool needs your approval.")
