"""Tests of the app as it is hosted: behind nginx terminating TLS (deploy/nginx-tls.conf)."""
