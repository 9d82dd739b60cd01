"""Tests of the app as several replicas behind nginx, sharing PostgreSQL and one localcloud (deploy/)."""
