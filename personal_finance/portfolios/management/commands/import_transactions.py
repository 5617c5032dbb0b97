import json
from pathlib import Path

from personal_finance.contrib.commands import ContractCommand
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.portfolios.importers import FORMATS, transactions_import
from personal_finance.portfolios.models import Portfolio


class Command(ContractCommand):
    help = "Import transactions from a CSV file into a portfolio: all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file")
        parser.add_argument("--portfolio", type=int, required=True, help="portfolio id")
        parser.add_argument("--dry-run", action="store_true", help="validate and preview; write nothing")
        parser.add_argument("--format", default="native", help=f"one of: {', '.join(sorted(FORMATS))}")
        parser.add_argument("--mapping", help="JSON column mapping (or @file.json) for any other layout")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        path = Path(options["file"])
        portfolio = Portfolio.objects.filter(pk=options["portfolio"]).first()
        if portfolio is None:
            self.fail(f"{path}: no portfolio with id {options['portfolio']}")
        mapping = None
        if options["mapping"]:
            text = options["mapping"]
            try:
                if text.startswith("@"):
                    text = Path(text[1:]).read_text()
                mapping = json.loads(text)
            except (OSError, ValueError) as exc:
                self.fail(f"--mapping: not valid JSON: {exc}")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self.fail(f"{path}: cannot read: {exc.strerror or exc}")
        try:
            result = transactions_import(
                portfolio=portfolio,
                raw=raw,
                format_name=options["format"],
                mapping=mapping,
                dry_run=options["dry_run"],
            )
        except ApplicationError as exc:
            lines = [f"{path}: {exc.message}"]
            for where, messages in exc.errors.items():
                lines.extend(f"{path}: {where}, {m}" for m in messages)
            self.fail("\n".join(lines))
        verb = "would import" if result["dry_run"] else "imported"
        summary = (
            f"{verb} {result['would_create']} transactions into portfolio {portfolio.pk} "
            f"({result['skipped_duplicates']} duplicates skipped, {len(result['new_assets'])} new assets)"
        )
        self.emit(options, summary, result)
