"""Alert delivery: the ``Notifier`` and ``Channel`` ports, the Genesys Cloud SMS and voice
adapters and their simulator, logging stand-ins for set-ups without a provider, the circuit
breaker, and the worker that sends queued notifications."""

from domain.alert_delivery import PendingNotification

from .base import (
    Channel,
    DeliveryFailed,
    LoggingNotifier,
    Notifier,
    SendReceipt,
    TextChannel,
)
from .breaker import CircuitBreaker
from .delivery import DeliveryWorker, NotificationStore
from .genesys import GenesysApi, GenesysConfig, GenesysSmsNotifier
from .simulator import GenesysSimulator
from .voice import GenesysVoiceCaller

__all__ = [
    "Channel",
    "CircuitBreaker",
    "DeliveryFailed",
    "DeliveryWorker",
    "GenesysApi",
    "GenesysConfig",
    "GenesysSimulator",
    "GenesysSmsNotifier",
    "GenesysVoiceCaller",
    "LoggingNotifier",
    "NotificationStore",
    "Notifier",
    "PendingNotification",
    "SendReceipt",
    "TextChannel",
]
