"""One router for the whole REST API, mounted at /api/ by config/urls.py."""

from django.conf import settings
from rest_framework.routers import DefaultRouter, SimpleRouter

from personal_finance.analytics.api.views import PerformanceReportViewSet, PortfolioAnalyticsViewSet
from personal_finance.assets.api.views import AssetViewSet
from personal_finance.backtesting.api.views import BacktestViewSet, SweepViewSet
from personal_finance.data_profiler.api.views import DataQualityViewSet
from personal_finance.portfolios.api.views import PortfolioViewSet, TransactionViewSet
from personal_finance.tax.api.views import (
    StoredTaxReportViewSet,
    TaxHarvestViewSet,
    TaxLotsViewSet,
    TaxRateViewSet,
    TaxReportViewSet,
)
from personal_finance.users.api.views import UserViewSet

router = DefaultRouter() if settings.DEBUG else SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("assets", AssetViewSet, basename="asset")
router.register("data-quality", DataQualityViewSet, basename="data-quality")
router.register("portfolios", PortfolioViewSet, basename="portfolio")
router.register(r"portfolios/(?P<portfolio_pk>\d+)/transactions", TransactionViewSet, basename="portfolio-transaction")
router.register("backtests/sweeps", SweepViewSet, basename="backtest-sweep")
router.register("backtests", BacktestViewSet, basename="backtest")
router.register("portfolios", PortfolioAnalyticsViewSet, basename="portfolio-analytics")
router.register(r"portfolios/(?P<portfolio_pk>\d+)/reports", PerformanceReportViewSet, basename="portfolio-report")
router.register("tax/lots", TaxLotsViewSet, basename="tax-lots")
router.register("tax/report", TaxReportViewSet, basename="tax-report")
router.register("tax/harvest", TaxHarvestViewSet, basename="tax-harvest")
router.register("tax/rates", TaxRateViewSet, basename="tax-rate")
router.register("tax/reports", StoredTaxReportViewSet, basename="tax-stored-report")

app_name = "api"
urlpatterns = router.urls
