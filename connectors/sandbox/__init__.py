"""The sandbox: a simulated recipient that plays back lifecycle statuses; registered as connector "sandbox"."""

from connectors.base import register
from connectors.sandbox.connector import PAY_MARKER, REFUSE_MARKER, SandboxConnector, SandboxSettings, playback

register(SandboxConnector.name, SandboxConnector)

__all__ = ["PAY_MARKER", "REFUSE_MARKER", "SandboxConnector", "SandboxSettings", "playback"]
