"""What every benchmark needs: a fresh database (a new SQLite file, or a PostgreSQL database
dropped and created again) with the schema and the city profile, and Django set up on it."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def recreate_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def setup_django(var_dir: str, database_url: str | None) -> None:
    os.environ["CIVICSTACK_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "civicstack.settings"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def fresh_database(var_dir: str, database_url: str | None, *, city_profile: bool = True) -> None:
    """Django on a new, migrated database (SQLite under ``var_dir`` unless a URL is given)."""
    if database_url:
        recreate_postgres_database(database_url)
    setup_django(var_dir, database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if city_profile:
        with open(os.devnull, "w") as quiet:
            call_command("load_city_profile", stdout=quiet)
