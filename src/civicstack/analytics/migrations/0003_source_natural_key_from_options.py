"""Sources installed before natural keys had their single key column in ``options["key"]``."""

from django.db import migrations


def key_from_options(apps, schema_editor):
    Source = apps.get_model("analytics", "Source")
    for source in Source.objects.all():
        key = source.options.get("key")
        if key and not source.natural_key:
            source.natural_key = [key] if isinstance(key, str) else list(key)
            source.options = {name: value for name, value in source.options.items() if name != "key"}
            source.save(update_fields=["natural_key", "options"])


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_source_natural_key_load_duplicates")]

    operations = [migrations.RunPython(key_from_options, migrations.RunPython.noop)]
