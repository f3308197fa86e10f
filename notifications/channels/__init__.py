"""Delivery channels: each sends a batch of rendered messages and says what became of each."""

from notifications.channels.base import Channel, Outcome, Outgoing

__all__ = ["Channel", "Outcome", "Outgoing"]
