"""`manage.py import_census FILE [--commit] --user USERNAME`: the census import from a shell.

Without --commit it is the dry run: every row, what it would create and its errors. With
--commit the file is imported in one transaction, or not at all when any row has an error.
Runs as a program director (--user), whose sites bound what the file may touch and who is the
actor in the audit trail. Exits 1 when the file has errors.
"""
from pathlib import Path

from auditlog.context import set_actor
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from onboarding.services import census_check, census_commit, file_sha256
from audit.services import audit_import
from programs.models import Site


class Command(BaseCommand):
    help = "Check (dry run) or import a census file (CSV or XLSX)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--commit", action="store_true",
                            help="Import the file (one transaction; nothing when any row fails).")
        parser.add_argument("--user", required=True,
                            help="The username of the program director importing it.")

    def handle(self, *args, file: Path, commit: bool, user: str, **options):
        director = get_user_model().objects.filter(username=user, is_active=True).first()
        if director is None or not director.is_director:
            raise CommandError(f"{user} is not an active program director.")
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        content = file.read_bytes()
        run = census_commit if commit else census_check
        with set_actor(director):
            result = run(content=content, file_name=file.name, by=director)
            audit_import(
                actor=director, sites=list(Site.objects.filter(staff=director).order_by("pk")),
                what=("census import: imported" if result.committed else
                      "census import: refused" if commit else "census import: dry run"),
                details={"sha256": file_sha256(content), "errors": result.error_count,
                         **result.counts},
                path="manage.py import_census")
        for error in result.file_errors:
            self.stderr.write(f"{file.name}: {error}")
        for row in result.rows:
            where = f"{row.sheet} row {row.line} ({row.record_number or '-'})"
            for column, message in row.errors:
                self.stderr.write(f"{where}: {column or 'row'}: {message}")
            if options["verbosity"] > 1 and not row.errors:
                self.stdout.write(f"{where}: {'; '.join(row.actions)}")
        counts = ", ".join(f"{n} {what}" for what, n in result.counts.items())
        if result.committed:
            self.stdout.write(self.style.SUCCESS(f"Imported {counts}."))
        elif result.ok:
            self.stdout.write(f"Dry run: no errors; would import {counts}. "
                              "Run again with --commit to import.")
        else:
            self.stderr.write(f"{result.error_count} errors; nothing was imported.")
            raise SystemExit(1)
