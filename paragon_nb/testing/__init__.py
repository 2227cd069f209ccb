"""Helpers for testing code that uses paragon_nb: :mod:`paragon_nb.testing.postgres` starts a
throwaway PostgreSQL server (extra ``postgres``)."""
