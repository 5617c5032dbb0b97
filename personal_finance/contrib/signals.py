"""Cross-app events. Senders never import their receivers (analytics listens to the ledger)."""

from django.dispatch import Signal

# asset_ids: the assets whose stored prices changed (after the packed series were rebuilt).
prices_changed = Signal()
# portfolio_ids: the portfolios whose transactions changed.
ledger_changed = Signal()
# symbol, price (Decimal), ts (aware datetime), previous_close (Decimal or None), simulated (bool):
# a new price of one asset, stored as its bar of the day (assets.services.quote_record) unless
# simulated. Realtime publishes it to the WebSocket subscribers after the transaction commits.
price_quoted = Signal()
