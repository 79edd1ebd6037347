"""Alert delivery: the ``Notifier`` port, the Genesys Cloud SMS adapter and its simulator, a logging
notifier for set-ups without Genesys, and the worker that sends queued notifications."""

from domain.alert_delivery import PendingNotification

from .base import DeliveryFailed, LoggingNotifier, Notifier, SendReceipt
from .delivery import DeliveryWorker, NotificationStore
from .genesys import GenesysConfig, GenesysSmsNotifier
from .simulator import GenesysSimulator

__all__ = [
    "DeliveryFailed",
    "DeliveryWorker",
    "GenesysConfig",
    "GenesysSimulator",
    "GenesysSmsNotifier",
    "LoggingNotifier",
    "NotificationStore",
    "Notifier",
    "PendingNotification",
    "SendReceipt",
]
