"""The app's shared UI plumbing: the process-wide runtime, the page chrome and the `/lc` proxy to localcloud."""

__all__ = ["chrome", "local_proxy", "runtime"]
