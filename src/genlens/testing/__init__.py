"""Test and benchmark infrastructure that ships with genlens (fake API servers, tiny models).

Everything here talks only to 127.0.0.1 and builds models from random weights: no network.
"""
