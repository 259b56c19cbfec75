"""Signals other apps subscribe to (see docs/automation.md)."""

from django.dispatch import Signal

# Sent (robustly: a receiver's error never fails the refresh) after a refresh swapped in
# a run's series. Arguments: ``run`` (kpis.Run, succeeded) and ``org``.
refresh_finished = Signal()
