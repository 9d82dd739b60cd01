"""Agent Identity Dashboard: `streamlit run app.py`.

For now this page starts the embedded localcloud and says what is coming; the Login, Chat, Credentials
and Setup pages arrive with the next issues.
"""

from __future__ import annotations

import os

# The Alibaba SDKs ignore NO_PROXY: localcloud traffic on 127.0.0.1 must not go to a proxy.
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_proxy, None)

import streamlit as st  # noqa: E402

import localcloud  # noqa: E402


@st.cache_resource(show_spinner="Starting localcloud…")
def _local_cloud() -> localcloud.LocalCloud:
    """One localcloud per Streamlit server process, shared by every session (it holds no per-user data)."""
    return localcloud.start()


st.set_page_config(page_title="Agent Identity Dashboard", page_icon="🔐")
st.title("Agent Identity Dashboard")
st.write("An AI agent acting for a signed-in user with credentials from Alibaba Cloud Agent Identity, "
         "instead of holding secrets itself.")
try:
    cloud = _local_cloud()
except (localcloud.LocalCloudError, ValueError) as error:
    st.error(f"localcloud could not start: {error}")
else:
    st.success(f"localcloud is running at {cloud.url} (account {cloud.account_id}).")
st.subheader("Coming next")
st.markdown("- **Setup**: provision the identity provider, OAuth apps, RAM role and workload identity with a click\n"
            "- **Login**: OAuth 2.0 / OIDC with PKCE, the ID token verified\n"
            "- **Chat**: a Qwen agent whose tools get OAuth2 tokens, API keys and STS credentials for you\n"
            "- **Credentials**: every token's status, consent prompts and an activity log")
