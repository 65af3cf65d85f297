"""`manage.py preflight [--connect-email] [--skip NAME ...]`: is this release ready for traffic?

Prints one line per check, OK or FAIL, and exits with status 1 when any check fails, so a
deploy script stops before the proxy sends traffic (docs/deploy.md, "Upgrades")."""
from django.core.management.base import BaseCommand, CommandError

from iop_clinic.ops.preflight import CHECKS, preflight


class Command(BaseCommand):
    help = ("Check the database and its migrations, the broker, email and SMS settings, the "
            "public address, static files and `check --deploy`; exit 1 if any fails.")
    requires_system_checks = []  # check --deploy is one of the checks, reported as a line
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--connect-email", action="store_true",
                            help="also open (and close) a connection to the SMTP server")
        parser.add_argument("--skip", action="append", default=[], choices=sorted(CHECKS),
                            metavar="NAME",
                            help=f"leave a check out (repeatable): {', '.join(CHECKS)}")

    def handle(self, *args, connect_email: bool = False, skip: list[str] | None = None,
               **options):
        skip = set(skip or [])
        results = preflight(skip=skip, connect_email=connect_email)
        width = max(len(name) for name in CHECKS)
        for result in results:
            status = self.style.SUCCESS("OK  ") if result.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{status}  {result.name:<{width}}  {result.detail}")
        for name in sorted(skip):
            self.stdout.write(f"SKIP  {name:<{width}}  --skip {name}")
        failed = [result.name for result in results if not result.ok]
        if failed:
            raise CommandError(f"preflight: {len(failed)} of {len(results)} checks failed "
                               f"({', '.join(failed)}); fix them before letting traffic in.")
        self.stdout.write(f"preflight: all {len(results)} checks passed.")
