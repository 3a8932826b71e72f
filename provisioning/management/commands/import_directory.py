"""``import_directory FILE [--directory NAME]``: load a Microsoft Graph JSON export or an Entra
"Download users" CSV into an emulated directory (created if missing)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from provisioning.models import Directory
from provisioning.services.directory import directory_create
from provisioning.services.directory_import import DirectoryImportError, directory_import

DEFAULT_DIRECTORY = "Default Directory"


class Command(BaseCommand):
    help = "Import users and groups from a Microsoft Graph JSON export or an Entra users CSV."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--directory",
            default=DEFAULT_DIRECTORY,
            help=f'Directory name (created if missing; default "{DEFAULT_DIRECTORY}").',
        )
        parser.add_argument(
            "--domain",
            default="contoso.onmicrosoft.com",
            help="Primary domain of a directory this command creates.",
        )

    def handle(self, *args, file: Path, directory: str, domain: str, verbosity: int, **options):
        try:
            content = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        target = Directory.objects.filter(name=directory).first()
        created = target is None
        if created:
            target = directory_create(name=directory, domain=domain)
        bar = tqdm(
            total=0,
            unit="obj",
            desc=f"Importing {file.name}",
            disable=verbosity < 1,
            file=self.stderr._out,
        )
        try:
            result = directory_import(
                directory=target,
                content=content,
                filename=file.name,
                on_total=lambda total: bar.reset(total=total),
                progress=bar.update,
            )
        except DirectoryImportError as error:
            bar.close()
            if created:
                target.delete()
            for problem in error.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{len(error.problems)} problem(s) found; nothing was imported."
            ) from None
        bar.close()
        if verbosity >= 1:
            self.stdout.write(f'Imported into "{target.name}". {result.summary()}')
