from django.db import migrations


def backfill(apps, schema_editor):
    # Tables loaded before 0003 get their value counts now (without them every filtered total is
    # counted, which is correct, just slow). Safe to rerun: each resource's counts are replaced.
    from civicstack.opendata.models import DatastoreValueCount as Current
    from civicstack.opendata.services import ValueCounter

    Resource = apps.get_model("opendata", "Resource")
    DatastoreRow = apps.get_model("opendata", "DatastoreRow")
    DatastoreValueCount = apps.get_model("opendata", "DatastoreValueCount")
    resources = Resource.objects.filter(datastore_active=True, datastore_row_count__gte=Current.MIN_ROWS)
    for resource in resources.only("pk").iterator():
        counter = ValueCounter()
        rows = DatastoreRow.objects.filter(resource_id=resource.pk).values_list("data", flat=True)
        for data in rows.iterator(chunk_size=10_000):
            counter.add(data)
        counter.save(resource, model=DatastoreValueCount)


class Migration(migrations.Migration):
    dependencies = [
        ("opendata", "0003_datastore_value_counts"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
