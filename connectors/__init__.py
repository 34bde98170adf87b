"""Connectors: one package per external system, speaking HTTP through the official SDKs."""
