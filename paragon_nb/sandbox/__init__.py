"""A faithful local Marketo: WSGI app + state store + threaded loopback server."""
