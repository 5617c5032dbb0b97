"""Cross-app events. Senders never import their receivers (analytics listens to the ledger)."""

from django.dispatch import Signal

# asset_ids: the assets whose stored prices changed (after the packed series were rebuilt).
prices_changed = Signal()
# portfolio_ids: the portfolios whose transactions changed.
ledger_changed = Signal()
