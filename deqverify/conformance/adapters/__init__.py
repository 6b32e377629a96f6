"""Adapters: the built-in solver and third-party DEQ libraries behind the protocol."""
