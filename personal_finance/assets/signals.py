"""Single bar saves (a live quote, the admin) keep the packed series in step; bulk writers call
``price_series_refresh`` themselves."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import PriceBar
from .services import price_series_refresh


@receiver(post_save, sender=PriceBar)
def refresh_series_of_saved_bar(sender, instance, **kwargs):
    price_series_refresh(asset_ids=[instance.asset_id])


@receiver(post_delete, sender=PriceBar)
def refresh_series_of_deleted_bar(sender, instance, origin=None, **kwargs):
    # When the asset itself is being deleted its series goes with it: rebuilding it here would
    # re-insert a row the cascade is removing.
    if isinstance(origin, PriceBar) or (origin is not None and getattr(origin, "model", None) is PriceBar):
        price_series_refresh(asset_ids=[instance.asset_id])
